"""The canonical fields of a transactions file and the header aliases that find them.

* :data:`FIELDS`: what each field means, its label on the column-mapping page, whether it is
  required and what kind of values it holds;
* :data:`ALIASES`: the headers each field is known by (compared after
  :func:`rfm_desktop.core.mapping.normalize_header`).

Finding the columns is :mod:`rfm_desktop.core.mapping`; reading their values is
:mod:`rfm_desktop.core.values`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["id", "date", "number", "text"]


@dataclass(frozen=True)
class Field:
    """One canonical field: what the analyst sees on the column-mapping page."""

    name: str
    label: str
    description: str
    required: bool  # required on its own; quantity + unit price *or* amount is required too
    kind: Kind


FIELDS: tuple[Field, ...] = (
    Field(
        "customer_id",
        "Customer ID",
        "Who bought: one id per customer. Rows without it cannot be segmented.",
        True,
        "id",
    ),
    Field(
        "invoice_date",
        "Invoice date",
        "When the purchase happened (date, optionally with time). Gives the recency.",
        True,
        "date",
    ),
    Field(
        "invoice_id",
        "Invoice / order number",
        "Groups the lines of one purchase and so counts "
        "the frequency; 'C' followed by digits on a negative quantity (C536379) is a "
        "cancellation. Without it each customer and timestamp counts as one purchase.",
        False,
        "id",
    ),
    Field(
        "quantity",
        "Quantity",
        "Units on the line. Needed together with the unit price unless an amount column is mapped.",
        False,
        "number",
    ),
    Field(
        "unit_price",
        "Unit price",
        "Price of one unit. Needed together with the quantity unless an amount column is mapped.",
        False,
        "number",
    ),
    Field(
        "amount",
        "Amount (line total)",
        "Money of the line (quantity x unit price). Map this, or quantity and unit price.",
        False,
        "number",
    ),
    Field(
        "stock_code",
        "Stock code",
        "Product code; lets the cleaning drop postage, fees "
        "and other non-product lines (optional).",
        False,
        "id",
    ),
    Field("description", "Description", "Product name (optional).", False, "text"),
    Field(
        "country",
        "Country",
        "Customer's country, shown in the customer table (optional).",
        False,
        "text",
    ),
    Field(
        "status",
        "Status",
        "Payment or order status (Paid, Refunded, Failed…); rows that "
        "are not a completed sale are removed by a cleaning step (optional).",
        False,
        "text",
    ),
    Field(
        "currency",
        "Currency",
        "Currency of the amounts (EUR, USD…); more than one currency "
        "stops the run unless one is chosen on the Cleaning page (optional).",
        False,
        "text",
    ),
)
FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in FIELDS)
FIELDS_BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
#: Fields that must always be mapped.
REQUIRED: tuple[str, ...] = tuple(f.name for f in FIELDS if f.required)
#: One of these groups must be mapped completely to know the money of a line.
MONEY_CHOICES: tuple[tuple[str, ...], ...] = (("quantity", "unit_price"), ("amount",))

# Header aliases, compared after normalize_header(); earlier aliases win.
ALIASES: dict[str, tuple[str, ...]] = {
    "customer_id": (
        # a person-level key beats a per-order one (Olist: customer_id is new for every order,
        # customer_unique_id is the person), so these come first
        "customeruniqueid",
        "uniquecustomerid",
        "customerunique",
        "personid",
        "customerid",
        "customer",
        "customerno",
        "customernumber",
        "customernum",
        "customernr",
        "customercode",
        "customerkey",
        "custid",
        "custno",
        "custnumber",
        "cust",
        "clientid",
        "client",
        "clientno",
        "clientnumber",
        "clientcode",
        "memberid",
        "membernumber",
        "accountid",
        "accountnumber",
        "accountno",
        "buyerid",
        "userid",
        "shopperid",
        "kundennummer",
        "kundennr",
        "kundeid",
        "kunde",
        "idcliente",
        "numeroclient",
        # dunnhumby-style household keys; an email when there is no customer number (Shopify)
        "householdkey",
        "householdid",
        "household",
        "email",
        "emailaddress",
        "customeremail",
    ),
    "invoice_date": (
        "invoicedate",
        "invoicedatetime",
        "orderdate",
        "orderdatetime",
        "transactiondate",
        "transactiondatetime",
        "purchasedate",
        "dateofpurchase",
        "saledate",
        "salesdate",
        "receiptdate",
        "billingdate",
        "documentdate",
        "date",
        "datetime",
        "timestamp",
        "orderedat",
        "purchasedat",
        "createdat",
        "created",
        "rechnungsdatum",
        "datum",
        "fecha",
        "day",  # dunnhumby's DAY 1..N day numbers, read as a day index (see to_dates)
    ),
    "invoice_id": (
        "invoiceno",
        "invoice",
        "invoiceid",
        "invoicenumber",
        "invoicenum",
        "invoicenr",
        "orderid",
        "orderno",
        "ordernumber",
        "ordernum",
        "ordernr",
        "order",
        "transactionid",
        "transactionno",
        "transactionnumber",
        "transaction",
        "receiptid",
        "receiptno",
        "receiptnumber",
        "receipt",
        "billno",
        "billnumber",
        "billid",
        "documentno",
        "documentnumber",
        "salesorder",
        "ticketid",
        "rechnungsnummer",
        "rechnungsnr",
        "basketid",
        "basket",
        "cartid",
    ),
    "quantity": (
        "quantity",
        "qty",
        "quantityordered",
        "qtyordered",
        "quantitysold",
        "qtysold",
        "units",
        "unitssold",
        "pieces",
        "pcs",
        "itemcount",
        "numberofitems",
        "noofitems",
        "menge",
        "anzahl",
        "cantidad",
    ),
    "unit_price": (
        "unitprice",
        "price",
        "unitcost",
        "priceeach",
        "priceperunit",
        "itemprice",
        "sellingprice",
        "saleprice",
        "salesprice",
        "unitsaleprice",
        "netprice",
        "rate",
        "preis",
        "einzelpreis",
        "precio",
    ),
    "amount": (
        "amount",
        "revenue",
        "sales",
        "total",
        "linetotal",
        "totalamount",
        "totalprice",
        "totalsales",
        "totalrevenue",
        "salesamount",
        "salesvalue",
        "netsales",
        "netamount",
        "grossamount",
        "lineamount",
        "linevalue",
        "totalvalue",
        "value",
        "turnover",
        "subtotal",
        "extendedprice",
        "amountspent",
        "spend",
        "monetary",
        "ordertotal",
        "betrag",
        "umsatz",
        "importe",
    ),
    "stock_code": (
        "stockcode",
        "sku",
        "productid",
        "productcode",
        "productno",
        "itemcode",
        "itemid",
        "itemno",
        "itemnumber",
        "articleno",
        "articlenumber",
        "articleid",
        "partnumber",
        "partno",
        "ean",
        "upc",
        "barcode",
        "artikelnummer",
        "artikelnr",
    ),
    "description": (
        "description",
        "productname",
        "productdescription",
        "itemname",
        "itemdescription",
        "product",
        "item",
        "articlename",
        "article",
        "name",
        "title",
        "bezeichnung",
        "beschreibung",
        "descripcion",
    ),
    "country": (
        "country",
        "countryname",
        "countrycode",
        "customercountry",
        "shipcountry",
        "shippingcountry",
        "billingcountry",
        "land",
        "pais",
    ),
    # Not the bare "state": in US exports (Superstore) that is the customer's state.
    "status": (
        "status",
        "financialstatus",
        "paymentstatus",
        "orderstatus",
        "transactionstatus",
        "chargestatus",
        "salestatus",
        "invoicestatus",
        "orderstate",
        "paymentstate",
        "financialstate",
        "transactionstate",
    ),
    "currency": (
        "currency",
        "currencycode",
        "currencyiso",
        "currencyisocode",
        "ccy",
        "curr",
        "waehrung",
        "wahrung",
        "moneda",
        "devise",
    ),
}
