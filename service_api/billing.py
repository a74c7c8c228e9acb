"""What an order costs the customer: an itemised statement whose every line points to the
record it came from (the order's call-out, a labour record, a part-used record).

The basis is the order's ``billing_basis``, decided from the asset's contract when the
order was opened and decided again at completion (``crud.orders``):

- ``warranty``: every line is priced at list and fully covered: nothing is charged;
- ``service_contract``: the package named by the asset's service contract
  (``[billing.packages]``) covers the call-out if it says so, the first
  ``labour_included_minutes`` of labour (in the order the labour was recorded), and
  ``parts_discount_pct`` of every part; the rest is charged. A contract with no package
  configured covers nothing, and the statement says so;
- ``billable``: everything is charged at list.

Prices: labour at ``labour_rate_per_hour``, parts at the catalogue's unit price (a part
outside the catalogue is listed at 0 and flagged), the call-out fee. Money is Decimal,
each amount rounded half-up to cents; totals are sums of the rounded lines.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from pydantic import BaseModel, ConfigDict, Field

CENT = Decimal("0.01")


class ServicePackage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = ""
    call_out_included: bool = True
    labour_included_minutes: float = Field(default=0.0, ge=0)
    parts_discount_pct: float = Field(default=0.0, ge=0, le=100)


class BillingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    labour_rate_per_hour: float = Field(default=90.0, ge=0)
    call_out_fee: float = Field(default=0.0, ge=0)
    packages: dict[str, ServicePackage] = Field(default_factory=dict, description=(
        "by service contract name (the asset's service_contract)"))


def money(x: float | Decimal) -> Decimal:
    """
    >>> money(0.125), money(2.675), money(10)
    (Decimal('0.13'), Decimal('2.68'), Decimal('10.00'))
    """
    return Decimal(str(x)).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class Line:
    kind: str  # call_out, labour, part
    source: str  # order:<id>, labour:<id>, part:<id>
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    list_amount: Decimal
    covered: Decimal
    note: str = ""

    @property
    def charged(self) -> Decimal:
        return self.list_amount - self.covered


@dataclass
class Statement:
    order_id: int
    asset_id: str
    basis: str
    warranty_status: str
    currency: str
    package: str
    lines: list[Line] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def list_total(self) -> Decimal:
        return sum((line.list_amount for line in self.lines), Decimal("0.00"))

    @property
    def covered_total(self) -> Decimal:
        return sum((line.covered for line in self.lines), Decimal("0.00"))

    @property
    def charged_total(self) -> Decimal:
        return self.list_total - self.covered_total


@dataclass(frozen=True)
class LabourItem:
    id: int
    technician: str
    minutes: float


@dataclass(frozen=True)
class PartItem:
    id: int
    part_number: str
    quantity: float


def statement(order_id: int, asset_id: str, basis: str, warranty_status: str,
              service_contract: str, labour: list[LabourItem], parts: list[PartItem],
              prices: dict[str, float], settings: BillingSettings) -> Statement:
    """Price an order's work under its billing basis (module docstring)."""
    package = ServicePackage()
    st = Statement(order_id, asset_id, basis, warranty_status, settings.currency, "")
    if basis == "service_contract":
        if service_contract in settings.packages:
            package = settings.packages[service_contract]
            st.package = package.name or service_contract
        else:
            st.notes.append(f"service contract {service_contract!r} has no package in "
                            "[billing.packages]: nothing is covered")
    covered_all = basis == "warranty"
    if settings.call_out_fee > 0:
        fee = money(settings.call_out_fee)
        covers = covered_all or (basis == "service_contract" and st.package != ""
                                 and package.call_out_included)
        st.lines.append(Line("call_out", f"order:{order_id}", "call-out", Decimal(1), "each",
                             fee, fee, fee if covers else Decimal("0.00")))
    rate = Decimal(str(settings.labour_rate_per_hour))
    included = Decimal(str(package.labour_included_minutes))
    for item in labour:
        minutes = Decimal(str(item.minutes))
        hours = minutes / 60
        amount = money(hours * rate)
        if covered_all:
            covered, note = amount, ""
        else:
            free = min(minutes, included)
            included -= free
            covered = money(free / 60 * rate)
            note = f"{free.normalize():f} min in the package" if free else ""
        st.lines.append(Line("labour", f"labour:{item.id}", f"labour, {item.technician}",
                             hours.quantize(Decimal("0.0001")), "h", money(rate), amount,
                             covered, note))
    discount = Decimal(str(package.parts_discount_pct)) / 100
    for item in parts:
        qty = Decimal(str(item.quantity))
        known = item.part_number in prices
        unit = money(prices.get(item.part_number, 0.0))
        amount = money(qty * unit)
        covered = amount if covered_all else money(amount * discount)
        note = "" if known else "not in the parts catalogue: no price"
        if discount and not covered_all and known:
            note = f"{package.parts_discount_pct:g}% package discount"
        st.lines.append(Line("part", f"part:{item.id}", f"part {item.part_number}", qty,
                             "each", unit, amount, covered, note))
    if covered_all:
        st.notes.append("in warranty: no charge")
    return st


class StatementLineOut(BaseModel):
    kind: str = Field(description="call_out, labour or part")
    source: str = Field(description="the record the line came from: order:<id>, "
                        "labour:<id> (GET .../labour), part:<id> (GET .../parts)")
    description: str
    quantity: str
    unit: str
    unit_price: str
    list_amount: str
    covered: str = Field(description="by the warranty or the contract's package")
    charged: str
    note: str


class StatementOut(BaseModel):
    """Amounts are decimal strings, rounded half-up to cents."""

    order_id: int
    asset_id: str
    basis: str
    warranty_status: str
    currency: str
    package: str
    notes: list[str]
    lines: list[StatementLineOut]
    list_total: str
    covered_total: str
    charged_total: str


def to_dict(st: Statement) -> dict:
    return {"order_id": st.order_id, "asset_id": st.asset_id, "basis": st.basis,
            "warranty_status": st.warranty_status, "currency": st.currency,
            "package": st.package, "notes": st.notes,
            "lines": [{"kind": x.kind, "source": x.source, "description": x.description,
                       "quantity": str(x.quantity), "unit": x.unit,
                       "unit_price": str(x.unit_price), "list_amount": str(x.list_amount),
                       "covered": str(x.covered), "charged": str(x.charged), "note": x.note}
                      for x in st.lines],
            "list_total": str(st.list_total), "covered_total": str(st.covered_total),
            "charged_total": str(st.charged_total)}


COLUMNS = ["order_id", "line", "kind", "source", "description", "quantity", "unit",
           "unit_price", "list_amount", "covered", "charged", "currency", "note"]


def to_csv(st: Statement) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(COLUMNS)
    for i, x in enumerate(st.lines, 1):
        w.writerow([st.order_id, i, x.kind, x.source, x.description, x.quantity, x.unit,
                    x.unit_price, x.list_amount, x.covered, x.charged, st.currency, x.note])
    w.writerow([st.order_id, "total", "", "", f"basis: {st.basis}", "", "", "",
                st.list_total, st.covered_total, st.charged_total, st.currency,
                "; ".join(st.notes)])
    return out.getvalue()


def to_text_lines(st: Statement) -> list[str]:
    """The statement as fixed-width lines (for the PDF)."""
    out = [f"Service statement - work order #{st.order_id}, asset {st.asset_id}",
           f"Basis: {st.basis} (warranty: {st.warranty_status})"
           + (f", package {st.package}" if st.package else ""), ""]
    out.append(f"{'#':>2}  {'item':<28}{'qty':>9} {'unit':<5}{'price':>10}{'list':>11}"
               f"{'covered':>11}{'charged':>11}")
    for i, x in enumerate(st.lines, 1):
        out.append(f"{i:>2}  {x.description[:28]:<28}{x.quantity.normalize():>9f} "
                   f"{x.unit:<5}{x.unit_price:>10}{x.list_amount:>11}{x.covered:>11}"
                   f"{x.charged:>11}")
        out.append(f"    from {x.source}" + (f"; {x.note}" if x.note else ""))
    out += ["", f"{'Total (' + st.currency + ')':<55}{st.list_total:>11}"
                f"{st.covered_total:>11}{st.charged_total:>11}"]
    out += [f"Note: {n}" for n in st.notes]
    return out
