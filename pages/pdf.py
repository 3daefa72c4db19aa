"""The customer page as a PDF (weasyprint), from the very HTML the browser gets.

Static files and logos are read from our own storage, never fetched over the network: the URL
fetcher refuses every other address, so a merchant's logo URL cannot make us call out (SSRF)."""

import mimetypes

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.exceptions import SuspiciousFileOperation

from merchants.models import BrandingTemplate


def render_pdf(html: str) -> bytes:
    from weasyprint import HTML  # heavy (Pango): loaded only when a PDF is asked for

    return HTML(
        string=html, base_url=settings.PUBLIC_BASE_URL + "/", url_fetcher=_local_only
    ).write_pdf()


def _local_only(url: str) -> dict:
    path = url.removeprefix(settings.PUBLIC_BASE_URL)
    if path.startswith("/" + settings.STATIC_URL.strip("/") + "/"):
        name = path.split("/", 2)[2]
        content = _static_file(name)
        if content is not None:
            return {"string": content, "mime_type": mimetypes.guess_type(name)[0]}
    if path.startswith("/branding/") and path.endswith("/logo.png"):
        template_id = path.split("/")[2]
        logo = BrandingTemplate.objects.filter(pk=template_id).values_list("logo_png", flat=True)
        if template_id.isdigit() and logo.first():
            return {"string": bytes(logo.first()), "mime_type": "image/png"}
    raise ValueError(f"Not fetched for a PDF: {url}")


def _static_file(name: str) -> bytes | None:
    """The file `{% static %}` named: in development its source (what runserver serves); in
    production, where manifest storage hashes the name, the collected copy whitenoise serves."""
    try:
        found = finders.find(name)
        if not found and staticfiles_storage.exists(name):
            with staticfiles_storage.open(name) as file:
                return file.read()
    except SuspiciousFileOperation:  # ../ out of the static folders
        return None
    if not found:
        return None
    with open(found, "rb") as file:
        return file.read()
