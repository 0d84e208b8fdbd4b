"""The order desk in English and French: message catalogue and babel formatting of amounts and dates.

Messages are keyed by their English text; French is a dictionary beside it
(small enough that a gettext toolchain would cost more than it saves). Amounts,
dates and numbers are formatted by babel for the user's locale.

>>> from decimal import Decimal
>>> Translator("fr").money(Decimal("1234.5"), "EUR")
'1\u202f234,50\xa0€'
>>> Translator("en").money(Decimal("1234.5"), "EUR")
'€1,234.50'
>>> Translator("fr")("Orders")
'Commandes'
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal

__all__ = ["LANGUAGES", "Translator"]

LANGUAGES = {"en": "English", "fr": "Français"}

_FR = {
    "Orders": "Commandes", "New order": "Nouvelle commande", "Exceptions": "Exceptions", "Reports": "Rapports",
    "Customers": "Clients", "Log out": "Déconnexion", "Log in": "Connexion", "Username": "Identifiant",
    "Password": "Mot de passe", "Unknown user or wrong password.": "Identifiant ou mot de passe incorrect.",
    "Too many log-in attempts; try again in a few minutes.":
        "Trop de tentatives de connexion ; réessayez dans quelques minutes.",
    "Search": "Rechercher", "Status": "Statut", "Channel": "Canal", "Customer": "Client", "Total": "Total",
    "Created": "Créée", "Any": "Tous", "Flags": "Signaux", "Filter": "Filtrer", "Order": "Commande",
    "on hold": "en attente", "awaiting approval": "à approuver", "backordered": "en rupture",
    "in jeopardy": "en retard", "No orders match.": "Aucune commande ne correspond.",
    "Lines": "Lignes", "Line": "Ligne", "SKU": "Article", "Quantity": "Quantité", "Net": "Net", "Tax": "Taxe",
    "Subtotal": "Sous-total", "Promised": "Promis le", "Ships from": "Expédié de", "History": "Historique",
    "Audit trail": "Journal", "Approve discount": "Approuver la remise", "Reject": "Refuser",
    "Release hold": "Lever le blocage", "Cancel order": "Annuler la commande", "Reason": "Motif",
    "Note": "Note", "Price waterfall": "Cascade de prix", "Add line": "Ajouter une ligne",
    "Remove": "Retirer", "Discount %": "Remise %", "Discount reason": "Motif de la remise",
    "Submit order": "Enregistrer la commande", "Live price": "Prix en direct", "Options": "Options",
    "Requested date": "Date souhaitée", "Availability": "Disponibilité", "Problems": "Problèmes",
    "Orders in jeopardy": "Commandes en retard", "On hold": "Bloquées", "Awaiting approval": "À approuver",
    "Short of supply": "En rupture", "By customer": "Par client", "By product": "Par article",
    "By supplier": "Par fournisseur", "days late": "jours de retard", "Revenue": "Chiffre d'affaires",
    "Count": "Nombre", "From": "Du", "To": "Au", "Show": "Afficher", "products": "articles",
    "categories": "catégories", "customers": "clients", "countries": "pays", "channels": "canaux",
    "days": "jours", "Top": "Top", "Revenue by day": "Chiffre d'affaires par jour", "Language": "Langue",
    "Quote document": "Devis", "Version": "Version", "by": "par", "Nothing here.": "Rien à signaler.",
    "You may not do this.": "Vous n'avez pas le droit de faire cela.", "Done.": "C'est fait.",
    "Segment": "Segment", "Country": "Pays", "Credit limit": "Plafond de crédit", "Quick order": "Commande rapide",
    "Order lookup": "Recherche de commande", "Previous": "Précédent", "Next": "Suivant",
    "orders": "commandes", "Signed in as": "Connecté en tant que", "Lookup": "Chercher",
    "Viewed documents and decisions": "Documents consultés et décisions", "Printed on": "Imprimé le",
    "Bill to": "Facturer à", "Ship to": "Livrer à", "Configure": "Configurer", "Frame size": "Taille du cadre",
    "Colour": "Couleur", "E-motor": "Moteur électrique", "Battery (Wh)": "Batterie (Wh)",
    "requires approval": "à approuver", "Not possible now": "Impossible pour l'instant", "Choose": "Choisir",
    "undoing": "en annulant", "Start fulfilment": "Lancer la préparation", "Place hold": "Bloquer",
    "Fulfilment": "Exécution", "Step": "Étape", "Planned": "Prévu", "Actual": "Réel", "expected": "attendu",
    "started": "commencé", "Fulfilment alerts": "Alertes d'exécution", "Priority": "Priorité",
    "Projected": "Projeté", "Invoice": "Facture", "Return label": "Étiquette de retour",
    "Authorise return": "Autoriser le retour", "Payments": "Paiements", "Returns": "Retours",
    "Supply": "Stocks", "Location": "Site", "On hand": "En stock", "Receipts": "Réceptions",
    "Committed": "Engagé", "Available": "Disponible", "Set": "Fixer", "Rulesets": "Règles",
    "Reload the rulesets": "Recharger les règles",
    "A folder with errors is refused; the rules in force stay.":
        "Un dossier avec des erreurs est refusé ; les règles en vigueur restent.",
    "Hold reasons": "Motifs de blocage", "Payment terms": "Conditions",
}

_STATUS_FR = {"entered": "saisie", "booked": "réservée", "backordered": "en rupture", "on_hold": "bloquée",
              "awaiting_approval": "à approuver", "in_fulfilment": "en préparation", "shipped": "expédiée",
              "closed": "clôturée", "cancelled": "annulée", "reserved": "réservée", "open": "ouverte",
              "unlimited": "sans stock", "order_desk": "saisie des commandes", "approver": "approbateur",
              "pricing_admin": "administration des prix", "read_only": "lecture seule",
              "running": "en cours", "completed": "terminée",
              "pending": "à venir", "active": "en cours", "done": "fait", "sent_back": "renvoyée"}


class Translator:
    """Messages and formats for one locale (``en`` or ``fr``)."""

    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else "en"
        self.locale = {"en": "en_GB", "fr": "fr_FR"}[self.language]
        self._messages = _FR if self.language == "fr" else {}

    def __call__(self, text: str) -> str:
        return self._messages.get(text, text)

    def status(self, value: str) -> str:
        if self.language == "fr":
            return _STATUS_FR.get(value, value.replace("_", " "))
        return value.replace("_", " ")

    def money(self, amount: Decimal | str | None, currency: str) -> str:
        if amount is None or amount == "":
            return "—"
        return format_currency(Decimal(str(amount)), currency, locale=self.locale if self.language == "fr"
                               else "en_IE" if currency == "EUR" else "en_GB")

    def number(self, value: Decimal | int | str) -> str:
        return format_decimal(Decimal(str(value)), locale=self.locale)

    def date(self, value: dt.date | str | None) -> str:
        if not value:
            return "—"
        if isinstance(value, str):
            value = dt.date.fromisoformat(value[:10])
        return format_date(value, format="medium", locale=self.locale)

    def datetime(self, value: dt.datetime | str) -> str:
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        return format_datetime(value, format="short", tzinfo=dt.UTC, locale=self.locale)
