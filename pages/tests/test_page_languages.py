"""The customer page speaks twelve languages: chosen by `?lang=`, else the order's
locale, else the browser's Accept-Language; words, plurals and dates all come out translated."""

from datetime import UTC, datetime

import pytest

from orders.models import Shipment
from orders.tests.factories import create_order, ship

pytestmark = pytest.mark.django_db

PLACED = datetime(2026, 11, 20, 15, 4, tzinfo=UTC)

# Words the page shows for order 1001: one package ready for pickup, items still to ship.
WORDS = {
    "en": ["Order 1001", "Placed on", "Tracking number", "Still to ship", "In this package",
           "Ready for pickup", "Your package is ready for pickup.", "Label created",
           "In transit", "Out for delivery", "Delivered", "Delivery progress", "Nov. 20, 2026"],
    "es": ["Pedido 1001", "Pedido realizado el", "Número de seguimiento", "Pendiente de envío",
           "En este paquete", "Listo para recoger", "Tu paquete está listo para recoger.",
           "Etiqueta creada", "En tránsito", "En reparto", "Entregado", "Progreso de la entrega",
           "20 de noviembre de 2026"],
    "fr": ["Commande 1001", "Commande passée le", "Numéro de suivi", "Reste à expédier",
           "Dans ce colis", "Prêt à être retiré", "Votre colis est prêt à être retiré.",
           "Étiquette créée", "En transit", "En cours de livraison", "Livré",
           "Progression de la livraison", "20 novembre 2026"],
    "de": ["Bestellung 1001", "Bestellt am", "Sendungsnummer", "Noch nicht versandt",
           "In diesem Paket", "Abholbereit", "Ihr Paket liegt zur Abholung bereit.",
           "Versandetikett erstellt", "Unterwegs", "In Zustellung", "Zugestellt",
           "Lieferfortschritt", "20. November 2026"],
}  # fmt: skip
# English that must be gone from a translated page.
ENGLISH = ["Order 1001", "Placed on", "Tracking number", "Still to ship", "In this package",
           "Label created", "In transit", "Out for delivery", "Delivery progress",
           "Nov. 20, 2026", "Shipping to", "Sandbox (simulated)", "Ready for pickup",
           "Your package is ready"]  # fmt: skip


def _order_with_a_package(merchant, **order):
    create_order(merchant, "1001", order_date=PLACED, **order)
    ship(merchant, "1001", "SBXDELIVERED0001", ("MUG", 1))
    Shipment.objects.filter(tracking_number="SBXDELIVERED0001").update(
        status="available_for_pickup", status_detail="available_for_pickup"
    )


def _page(client, merchant, **params):
    headers = {k: params.pop(k) for k in list(params) if k.startswith("HTTP_")}
    return client.get(f"/orders/{merchant.merchant_id}/1001", params, **headers)


def _language_of(response) -> str:
    html = response.content.decode()
    language = response["Content-Language"]
    assert f'<html lang="{language}" dir="ltr">' in html
    return language


@pytest.mark.parametrize("lang", ["es", "fr", "de"])
def test_the_page_is_in_the_language_named_in_the_link(client, merchant, lang):
    # given
    _order_with_a_package(merchant)
    # when
    response = _page(client, merchant, lang=lang)
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert _language_of(response) == lang
    assert [word for word in WORDS[lang] if word not in html] == []
    assert [word for word in ENGLISH if word in html] == []


def test_english_stays_english(client, merchant):
    _order_with_a_package(merchant)
    response = _page(client, merchant)
    html = response.content.decode()
    assert _language_of(response) == "en"
    assert [word for word in WORDS["en"] if word not in html] == []


@pytest.mark.parametrize(
    ("lang", "title", "split", "package"),
    [
        ("es", "El mal tiempo está retrasando las entregas.",
         "Este pedido se envía en 2 paquetes separados.", "Paquete 2 de 2"),
        ("fr", "Le mauvais temps ralentit les livraisons.",
         "Votre commande est expédiée en 2 colis séparés.", "Colis 2 sur 2"),
        ("de", "Schlechtes Wetter verzögert die Zustellung.",
         "Ihre Bestellung wird in 2 getrennten Paketen verschickt.", "Paket 2 von 2"),
    ],
)  # fmt: skip
def test_banners_plurals_and_package_numbers_are_translated(
    client, merchant, lang, title, split, package
):
    # given
    _order_with_a_package(merchant)
    ship(merchant, "1001", "SBXDELIVERED0002", ("TOWEL", 1))
    Shipment.objects.filter(tracking_number="SBXDELIVERED0001").update(
        status="exception", status_detail="weather_delay"
    )
    # when
    html = _page(client, merchant, lang=lang).content.decode()
    # then
    assert title in html and split in html and package in html
    assert "Bad weather" not in html and "separate packages" not in html


def test_the_orders_locale_picks_the_language_when_the_link_names_none(client, merchant):
    _order_with_a_package(merchant, locale="fr-CA")
    response = _page(client, merchant)
    assert _language_of(response) == "fr"
    assert "Numéro de suivi" in response.content.decode()


def test_the_link_wins_over_the_orders_locale(client, merchant):
    _order_with_a_package(merchant, locale="fr-CA")
    response = _page(client, merchant, lang="es")
    assert _language_of(response) == "es"


def test_the_browser_language_is_used_when_neither_the_link_nor_the_order_names_one(
    client, merchant
):
    _order_with_a_package(merchant)
    response = _page(client, merchant, HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")
    assert _language_of(response) == "de"
    assert "Sendungsnummer" in response.content.decode()


def test_an_unsupported_language_falls_back(client, merchant):
    _order_with_a_package(merchant)
    response = _page(client, merchant, lang="ko")
    html = response.content.decode()
    assert _language_of(response) == "en"
    assert "Tracking number" in html and "Nov. 20, 2026" in html


def test_an_unsupported_language_in_the_link_falls_back_to_the_orders_locale(client, merchant):
    _order_with_a_package(merchant, locale="fr-CA")
    response = _page(client, merchant, lang="ko", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")
    assert _language_of(response) == "fr"
    assert "20 novembre 2026" in response.content.decode()


@pytest.mark.parametrize(
    ("lang", "date"),
    [("es", "Pedido realizado el 20 de noviembre de 2026"),
     ("fr", "Commande passée le 20 novembre 2026"), ("de", "Bestellt am 20. November 2026")],
)  # fmt: skip
def test_the_order_date_is_written_in_the_language(client, merchant, lang, date):
    _order_with_a_package(merchant)
    html = _page(client, merchant, lang=lang).content.decode()
    assert f'<time datetime="2026-11-20T15:04:00+00:00">{date}</time>' in html
    assert "Nov." not in html
