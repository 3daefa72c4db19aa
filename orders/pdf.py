"""The customer page as a PDF (weasyprint), from the very HTML the browser gets.

Static files and logos are read from our own storage, never fetched over the network: the URL
fetcher refuses every other address, so a merchant's logo URL cannot make us call out (SSRF)."""

import mimetypes

from django.conf import settings
from django.contrib.staticfiles import finders

from merchants.models import BrandingTemplate


def render_pdf(html: str) -> bytes:
    from weasyprint import HTML  # heavy (Pango): loaded only when a PDF is asked for

    return HTML(
        string=html, base_url=settings.PUBLIC_BASE_URL + "/", url_fetcher=_local_only
    ).write_pdf()


def _local_only(url: str) -> dict:
    path = url.removeprefix(settings.PUBLIC_BASE_URL)
    if path.startswith("/" + settings.STATIC_URL.strip("/") + "/"):
        found = finders.find(path.split("/", 2)[2])
        if found:
            with open(found, "rb") as file:
                return {"string": file.read(), "mime_type": mimetypes.guess_type(found)[0]}
    if path.startswith("/branding/") and path.endswith("/logo.png"):
        template_id = path.split("/")[2]
        logo = BrandingTemplate.objects.filter(pk=template_id).values_list("logo_png", flat=True)
        if template_id.isdigit() and logo.first():
            return {"string": bytes(logo.first()), "mime_type": "image/png"}
    raise ValueError(f"Not fetched for a PDF: {url}")
