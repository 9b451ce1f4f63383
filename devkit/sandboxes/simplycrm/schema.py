"""The modules the sandbox serves and their fields, as vtiger's ``describe`` lists them.

Field names, labels and which are mandatory follow vtiger 7's install data (``modules/Users/
DefaultDataPopulator.php``, typeofdata ``~M``) [V]; the type names follow vtiger's uitype map
(``vtws_addFieldTypeInformation``) and the recorded Leads describe [V]. The id prefixes are the ones a stock
install hands out (Leads 2 and Users 19 are in the recordings [V]; Accounts 3, Contacts 4, Products 6,
Invoice 16, LineItem 33, Currency 21 [I]). Only a subset of each module's fields is modelled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Field:
    name: str
    label: str
    type: str = "string"
    mandatory: bool = False
    editable: bool = True
    nullable: bool = True
    default: str | None = None
    picklist: tuple[str, ...] = ()
    refers_to: tuple[str, ...] = ()
    places: int | None = None  # DECIMAL scale for numbers; None for text

    def describe(self) -> dict[str, Any]:
        if self.picklist:
            kind: dict[str, Any] = {
                "picklistValues": [{"label": v, "value": v} for v in self.picklist],
                "defaultValue": self.picklist[0],
                "name": self.type,
            }
        elif self.refers_to:
            kind = {"name": self.type, "refersTo": list(self.refers_to)}
        else:
            kind = {"name": self.type}
        body: dict[str, Any] = {
            "name": self.name,
            "label": self.label,
            "mandatory": self.mandatory,
            "type": kind,
            "nullable": self.nullable,
            "editable": self.editable,
        }
        if self.default is not None:
            body["default"] = self.default
        return body


@dataclass
class Module:
    name: str
    id_prefix: str
    label_fields: str
    number_field: str | None
    number_prefix: str
    fields: list[Field] = field(default_factory=list)
    is_entity: bool = True

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    def names(self) -> list[str]:
        return [f.name for f in self.fields]


def _common(owner_label: str = "Assigned To") -> list[Field]:
    return [
        Field("assigned_user_id", owner_label, "owner", mandatory=True, nullable=False, default="0"),
        Field("createdtime", "Created Time", "datetime", editable=False, nullable=False),
        Field("modifiedtime", "Modified Time", "datetime", editable=False, nullable=False),
        Field("modifiedby", "Last Modified By", "reference", editable=False, refers_to=("Users",)),
    ]


def _money(name: str, label: str, places: int = 8) -> Field:
    return Field(name, label, "currency", places=places)


def _text(*pairs: tuple[str, str]) -> list[Field]:
    return [Field(n, lab) for n, lab in pairs]


def contacts() -> Module:
    return Module("Contacts", "4", "firstname,lastname", "contact_no", "CON", [
        Field("salutationtype", "Salutation", "picklist", picklist=("--None--", "Mr.", "Ms.", "Mrs.", "Dr.", "Prof.")),
        Field("firstname", "First Name"),
        Field("contact_no", "Contact Id", editable=False, nullable=False),
        Field("phone", "Office Phone", "phone"),
        Field("lastname", "Last Name", mandatory=True, nullable=False),
        Field("mobile", "Mobile", "phone"),
        Field("account_id", "Account Name", "reference", refers_to=("Accounts",)),
        Field("title", "Title"),
        Field("department", "Department"),
        Field("email", "Email", "email"),
        *_common(),
        Field("mailingstreet", "Mailing Street", "text"),
        *_text(("mailingcity", "Mailing City"), ("mailingstate", "Mailing State"), ("mailingzip", "Mailing Zip")),
        *_text(("mailingcountry", "Mailing Country"), ("mailingpobox", "Mailing Po Box")),
        Field("description", "Description", "text"),
    ])  # fmt: skip


def accounts() -> Module:
    return Module("Accounts", "3", "accountname", "account_no", "ACC", [
        Field("accountname", "Account Name", mandatory=True, nullable=False),
        Field("account_no", "Account No", editable=False, nullable=False),
        Field("phone", "Phone", "phone"),
        Field("website", "Website", "url"),
        Field("email1", "Email", "email"),
        Field("email2", "Other Email", "email"),
        Field("accounttype", "Type", "picklist", picklist=("--None--", "Customer", "Partner", "Reseller", "Other")),
        *_common(),
        Field("bill_street", "Billing Address", "text"),
        Field("ship_street", "Shipping Address", "text"),
        *_text(("bill_city", "Billing City"), ("bill_state", "Billing State"), ("bill_code", "Billing Code")),
        *_text(("bill_country", "Billing Country"), ("bill_pobox", "Billing Po Box")),
        *_text(("ship_city", "Shipping City"), ("ship_code", "Shipping Code"), ("ship_country", "Shipping Country")),
        Field("description", "Description", "text"),
    ])  # fmt: skip


def products() -> Module:
    return Module("Products", "6", "productname", "product_no", "PRO", [
        Field("productname", "Product Name", mandatory=True, nullable=False),
        Field("product_no", "Product No", editable=False, nullable=False),
        Field("productcode", "Part Number"),
        Field("discontinued", "Product Active", "boolean", default="1"),
        Field("productcategory", "Product Category", "picklist", picklist=("--None--", "Hardware", "Software")),
        _money("unit_price", "Unit Price"),
        Field("taxclass", "Tax Class"),
        Field("usageunit", "Usage Unit", "picklist", picklist=("Box", "Hours", "Each", "Pieces", "Units")),
        Field("qtyinstock", "Qty In Stock", "double", places=3),
        *_common("Handler"),
        Field("description", "Description", "text"),
    ])  # fmt: skip


INVOICE_STATUSES = ("AutoCreated", "Created", "Approved", "Sent", "Credit Invoice", "Paid", "Cancel")


def invoice() -> Module:
    return Module("Invoice", "16", "subject", "invoice_no", "INV", [
        Field("subject", "Subject", mandatory=True, nullable=False),
        Field("salesorder_id", "Sales Order", "reference", refers_to=("SalesOrder",)),
        Field("customerno", "Customer No"),
        Field("contact_id", "Contact Name", "reference", refers_to=("Contacts",)),
        Field("invoicedate", "Invoice Date", "date"),
        Field("duedate", "Due Date", "date"),
        _money("txtAdjustment", "Adjustment"),
        _money("hdnSubTotal", "Sub Total"),
        _money("hdnGrandTotal", "Total"),
        Field("hdnTaxType", "Tax Type", "picklist", picklist=("group", "individual")),
        Field("hdnDiscountPercent", "Discount Percent", "double", places=3),
        _money("hdnDiscountAmount", "Discount Amount"),
        _money("hdnS_H_Amount", "S&H Amount"),
        Field("account_id", "Account Name", "reference", mandatory=True, nullable=False, refers_to=("Accounts",)),
        Field("invoicestatus", "Status", "picklist", picklist=INVOICE_STATUSES),
        *_common(),
        Field("currency_id", "Currency", "reference", refers_to=("Currency",)),
        Field("conversion_rate", "Conversion Rate", "double", places=3),
        Field("bill_street", "Billing Address", "text", mandatory=True, nullable=False),
        Field("ship_street", "Shipping Address", "text", mandatory=True, nullable=False),
        *_text(("bill_city", "Billing City"), ("bill_code", "Billing Code"), ("bill_country", "Billing Country")),
        *_text(("ship_city", "Shipping City"), ("ship_code", "Shipping Code"), ("ship_country", "Shipping Country")),
        Field("description", "Description", "text"),
        Field("terms_conditions", "Terms & Conditions", "text"),
        Field("invoice_no", "Invoice No", editable=False, nullable=False),
        _money("pre_tax_total", "Pre Tax Total"),
    ])  # fmt: skip


def users() -> Module:
    return Module("Users", "19", "first_name,last_name", None, "", [
        Field("user_name", "User Name", mandatory=True, nullable=False),
        Field("first_name", "First Name"),
        Field("last_name", "Last Name", mandatory=True, nullable=False),
        Field("email1", "Email", "email", mandatory=True, nullable=False),
        Field("status", "Status", "picklist", picklist=("Active", "Inactive")),
        Field("is_admin", "Admin", "boolean"),
    ])  # fmt: skip


# The inventory "taxes" as a stock install creates them: name, label, percentage [V, DefaultDataPopulator].
DEFAULT_TAXES = (("tax1", "VAT", "4.50"), ("tax2", "Sales", "10.00"), ("tax3", "Service", "12.50"))
LINE_ITEM_PREFIX = "33"
CURRENCY_PREFIX = "21"


def all_modules() -> dict[str, Module]:
    modules = [contacts(), accounts(), products(), invoice(), users()]
    for module in modules:
        module.fields.append(
            Field("id", module.name.lower() + "id", "autogenerated", editable=False, nullable=False, default="")
        )
    return {m.name: m for m in modules}
