"""Billy's resources as the sandbox knows them: names, relationships and which fields a request may set.

Names and relationships [V, https://www.billy.dk/api/ "Resource documentation"]: a resource is reached by its
plural name, bodies are wrapped in the singular one; a belongs-to ``contact`` travels as ``contactId``; a
has-many (``invoice.lines``) is only in a record when asked for with ``include`` [V]. A belongs-to-reference
(``subject`` of a balance modifier) travels as ``subjectReference`` = ``"invoice:<id>"`` [V, the bank payment
use case]. Internal bookkeeping keys start with ``_`` and never reach the wire.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Resource:
    plural: str
    singular: str
    belongs_to: dict[str, str] = field(default_factory=dict)  # property -> plural of the target
    has_many: dict[str, tuple[str, str]] = field(default_factory=dict)  # property -> (plural, key on the child)
    methods: frozenset[str] = frozenset({"GET"})


READ_ONLY = frozenset({"GET"})
CRUD = frozenset({"GET", "POST", "PUT", "DELETE"})
ORG = {"organization": "organizations"}

RESOURCES: dict[str, Resource] = {
    r.plural: r
    for r in (
        Resource("organizations", "organization", {"baseCurrency": "currencies", "country": "countries"}),
        Resource("users", "user"),
        Resource("countries", "country"),
        Resource("currencies", "currency"),
        Resource("countryGroups", "countryGroup"),
        Resource("accounts", "account", {**ORG, "currency": "currencies", "taxRate": "taxRates"}),
        Resource("taxRates", "taxRate", ORG),
        Resource(
            "salesTaxRulesets",
            "salesTaxRuleset",
            {**ORG, "fallbackTaxRate": "taxRates"},
            {"rules": ("salesTaxRules", "rulesetId")},
        ),
        Resource(
            "salesTaxRules",
            "salesTaxRule",
            {"ruleset": "salesTaxRulesets", "country": "countries", "taxRate": "taxRates"},
        ),
        Resource(
            "contacts",
            "contact",
            {**ORG, "country": "countries", "currency": "currencies"},
            {"contactPersons": ("contactPersons", "contactId")},
            CRUD,
        ),
        Resource("contactPersons", "contactPerson", {"contact": "contacts"}, methods=CRUD),
        Resource(
            "products",
            "product",
            {**ORG, "account": "accounts", "salesTaxRuleset": "salesTaxRulesets"},
            {"prices": ("productPrices", "productId")},
            CRUD,
        ),
        Resource("productPrices", "productPrice", {"product": "products", "currency": "currencies"}, methods=CRUD),
        Resource(
            "invoices",
            "invoice",
            {
                **ORG,
                "contact": "contacts",
                "currency": "currencies",
                "creditedInvoice": "invoices",
                "attContactPerson": "contactPersons",
            },
            {
                "lines": ("invoiceLines", "invoiceId"),
                "attachments": ("attachments", "_ownerId"),
                "balanceModifiers": ("balanceModifiers", "_subjectId"),
                "creditNotes": ("invoices", "creditedInvoiceId"),
            },
            CRUD,
        ),
        Resource(
            "invoiceLines",
            "invoiceLine",
            {"invoice": "invoices", "product": "products", "taxRate": "taxRates"},
            methods=CRUD,
        ),
        Resource(
            "bankPayments",
            "bankPayment",
            {**ORG, "contact": "contacts", "cashAccount": "accounts", "subjectCurrency": "currencies"},
            {"associations": ("balanceModifiers", "_paymentId")},
            frozenset({"GET", "POST", "PUT"}),
        ),
        Resource(
            "bills",
            "bill",
            {
                **ORG,
                "contact": "contacts",
                "currency": "currencies",
                "creditedBill": "bills",
                "paymentAccount": "accounts",
            },
            {
                "lines": ("billLines", "billId"),
                "attachments": ("attachments", "_ownerId"),
                "balanceModifiers": ("balanceModifiers", "_subjectId"),
                "creditNotes": ("bills", "creditedBillId"),
            },
            CRUD,
        ),
        Resource("billLines", "billLine", {"bill": "bills", "account": "accounts", "taxRate": "taxRates"}),
        Resource("attachments", "attachment", {**ORG, "file": "files"}, methods=CRUD),
        Resource("files", "file"),
        Resource("balanceModifiers", "balanceModifier"),
        Resource("contactBalancePostings", "contactBalancePosting", {"contact": "contacts"}),
    )
}
SINGULAR = {r.singular: r for r in RESOURCES.values()}

# What a request may set; anything else in the body is ignored, as Billy ignores read-only properties [I].
WRITABLE = {
    "contacts": {
        "type", "name", "countryId", "street", "cityId", "cityText", "stateId", "stateText", "zipcodeId",
        "zipcodeText", "contactNo", "phone", "fax", "currencyId", "registrationNo", "ean", "localeId",
        "isCustomer", "isSupplier", "paymentTermsMode", "paymentTermsDays", "accessCode",
        "emailAttachmentDeliveryMode", "isArchived",
    },
    "contactPersons": {"contactId", "isPrimary", "name", "email"},
    "products": {"name", "description", "accountId", "productNo", "suppliersProductNo", "salesTaxRulesetId",
                 "isArchived", "inventoryAccountId"},
    "productPrices": {"productId", "unitPrice", "currencyId"},
    "invoices": {
        "type", "contactId", "attContactPersonId", "entryDate", "paymentTermsMode", "paymentTermsDays", "state",
        "sentState", "invoiceNo", "taxMode", "currencyId", "exchangeRate", "creditedInvoiceId", "contactMessage",
        "externalId", "orderNo",
    },
    "bills": {
        "type", "contactId", "contactName", "entryDate", "dueDate", "suppliersInvoiceNo", "taxMode", "voucherNo",
        "currencyId", "exchangeRate", "creditedBillId",
    },
    "invoiceLines": {"invoiceId", "productId", "description", "quantity", "unitPrice", "discountText",
                     "discountMode", "discountValue", "priority"},
}  # fmt: skip
