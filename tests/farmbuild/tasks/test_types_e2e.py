"""Type-level tests against the real running app.

The example app is built, started with uvicorn, and exercised:

- values typed as the generated *Input* interfaces (written in TypeScript, checked by
  ``tsc --strict``, then evaluated) are sent to the server, which must accept them;
- every JSON body the server answers with is pasted into a TypeScript file as
  ``export const x: <output type> = <json>;`` and must compile — a fresh object literal, so a
  field the server sends that the type lacks is an error too (excess property check);
- the reverse direction must fail where the table says it does (``@ts-expect-error``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from farmbuild.build import BuildOptions, Session
from tests.servers import uvicorn_server

from ...codegen.typescript.helpers import probe, tsc

pytestmark = pytest.mark.e2e

INPUTS_TS = """\
import {
  Category,
  type ChatRequestInput,
  type CustomerCreateInput,
  Priority,
  type ProductCreateInput,
  type ProductUpdateInput,
  type ReplyCreate,
  type ReviewCreate,
  type BillingInvoiceAddressInput,
  type OrderCreateInput,
  Unit,
} from "./types/models";

// Only what is required: every defaulted field left out, Decimals as numbers.
export const newCustomer: CustomerCreateInput = { email: "grace@example.org", name: "Grace" };
export const fullCustomer: CustomerCreateInput = {
  email: "linus@example.org", name: "Linus", "2fa": true, newsletter: false,
  address: { recipient: "Linus", street: "Kade 1", postal_code: "1011 AA", city: "Amsterdam" },
};
export const newProduct: ProductCreateInput = {
  name: "Curly kale", category: Category.vegetables, unit: Unit.bunch, price: { amount: 2.5 }, farm: "De Groene Akker",
};
export const productPatch: ProductUpdateInput = { stock: 7, price: { amount: "3.10", currency: "EUR" } };
export const chatBody: ChatRequestInput = { messages: [{ role: "user", content: "What is in season?" }] };
export const review: ReviewCreate = { product_id: "rainbow-carrots", author: "Grace", rating: 4, body: "Sweet and crunchy." };
export const reply: ReplyCreate = { author: "De Groene Akker", body: "Thanks!" };
export const billing: BillingInvoiceAddressInput = { name: "Grace", street: "Kade 2", postal_code: "1011 AB", city: "Amsterdam" };
export const cardOrder: OrderCreateInput = {
  customer_id: "__CUSTOMER__",
  lines: [{ product_id: "elstar-apples", quantity: 2 }, { product_id: "heather-honey", quantity: 1 }],
  payment: { method: "card", brand: "visa", last4: "4242" },
};
export const bankOrder: OrderCreateInput = {
  customer_id: "__CUSTOMER__",
  lines: [{ product_id: "free-range-eggs", quantity: 1 }],
  payment: { method: "bank_transfer", iban: "NL91ABNA0417164300" },
  priority: Priority.same_day,
  voucher_code: "WELCOME5",
  delivery_window: ["2026-10-01T08:00:00Z", "2026-10-01T12:00:00Z"],
  tags: ["gift"],
  metadata: { source: "e2e" },
};
"""


def _build_and_probe_inputs(app: Path, work: Path) -> dict[str, Any]:
    session = Session(app)
    try:
        assert session.build(BuildOptions()).ok
    finally:
        session.close()
    shutil.copytree(app / "apps/web/src/types", work / "types")
    (work / "inputs.ts").write_text(INPUTS_TS, encoding="utf-8")
    proc = tsc(work, ["types", "inputs.ts"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return probe(work / "inputs.ts")[str(work / "inputs.ts")]["values"]


def _ts_literal(value: Any) -> str:
    return json.dumps(value, ensure_ascii=True, indent=1)


def test_server_accepts_input_types_and_its_answers_fit_output_types(example_app: Path, tmp_path: Path) -> None:
    work = tmp_path / "ts"
    work.mkdir()
    inputs = _build_and_probe_inputs(example_app, work)
    samples: list[tuple[str, str, Any]] = []  # (name, TS type, JSON)

    def keep(name: str, ts_type: str, response: httpx.Response, status: int) -> Any:
        assert response.status_code == status, (name, response.status_code, response.text)
        body = response.json()
        samples.append((name, ts_type, body))
        return body

    with uvicorn_server(example_app / "apps/api") as base, httpx.Client(base_url=base, timeout=30) as http:
        keep("products", "Page<Product>", http.get("/api/catalog/products", params={"size": 100}), 200)
        keep("categories", "Category[]", http.get("/api/catalog/categories"), 200)
        keep("product", "Product", http.get("/api/catalog/products/heirloom-tomatoes"), 200)
        created = keep("createdProduct", "Product", http.post("/api/catalog/products", json=inputs["newProduct"]), 201)
        keep("patchedProduct", "Product", http.patch(f"/api/catalog/products/{created['id']}", json=inputs["productPatch"]), 200)
        keep("customers", "Page<Customer>", http.get("/api/customers"), 200)
        customer = keep("customer", "Customer", http.post("/api/customers", json=inputs["newCustomer"]), 201)
        keep("fullCustomer", "Customer", http.post("/api/customers", json=inputs["fullCustomer"]), 201)
        for name in ("cardOrder", "bankOrder"):
            body = json.loads(json.dumps(inputs[name]).replace("__CUSTOMER__", customer["_id"]))
            order = keep(name, "Order", http.post("/api/orders", json=body), 201)
        keep("order", "Order", http.get(f"/api/orders/{order['id']}"), 200)
        keep("orders", "Page<Order>", http.get("/api/orders"), 200)
        keep("invoice", "Invoice", http.post(f"/api/orders/{order['id']}/invoice", json=inputs["billing"]), 201)
        keep("cancelled", "Order", http.post(f"/api/orders/{order['id']}/cancel"), 200)
        review = keep("review", "Review", http.post("/api/reviews", json=inputs["review"]), 201)
        keep("reply", "Review", http.post(f"/api/reviews/{review['id']}/replies", json=inputs["reply"]), 201)
        keep("productReviews", "ProductReviews", http.get("/api/reviews/products/heirloom-tomatoes"), 200)
        keep("models", "ModelInfo[]", http.get("/api/assistant/models"), 200)
        keep("chat", "ChatResponse", http.post("/api/assistant/chat", json=inputs["chatBody"]), 200)
        keep("notFound", "ErrorDetail", http.get("/api/catalog/products/no-such-thing"), 404)
        keep("notFoundBody", "HTTPExceptionBody", http.get("/api/catalog/products/no-such-thing"), 404)
        keep("invalid", "HTTPValidationError", http.post("/api/orders", json={"lines": [{"quantity": 0}]}), 422)

    # the samples really exercise the interesting shapes
    by_name = {name: body for name, _, body in samples}
    assert {a["kind"] for a in by_name["bankOrder"]["adjustments"]} == {"shipping", "discount"}
    assert by_name["bankOrder"]["payment"]["method"] == "bank_transfer"
    assert by_name["productReviews"]["reviews"][0]["replies"], "a nested reply (recursive Review)"
    assert isinstance(by_name["product"]["price"]["amount"], str)  # a Decimal on the wire

    lines = [
        'import type { Category, Customer, ErrorDetail, Invoice, ModelInfo, MoneyInput, Order, Page, Product,',
        '  ProductReviews, Review, ChatResponse } from "./types/models";',
        'import type { HTTPExceptionBody, HTTPValidationError } from "./types/api";',
        "",
    ]
    for name, ts_type, body in samples:
        lines.append(f"export const {name}: {ts_type} = {_ts_literal(body)};")
    price = by_name["product"]["price"]
    lines += [
        "// what the server returns is not what it accepts: a computed field is output only",
        "// @ts-expect-error display is not part of MoneyInput",
        f"export const priceBack: MoneyInput = {json.dumps(price)};",
        "// narrowing on the discriminant works on real data",
        "export const payer: string = bankOrder.payment.method === \"bank_transfer\" ? bankOrder.payment.iban : \"\";",
        "export const firstFee: number = bankOrder.adjustments.filter((a) => a.kind === \"shipping\").length;",
    ]
    (work / "outputs.ts").write_text("\n".join(lines) + "\n", encoding="utf-8")
    proc = tsc(work, ["types", "outputs.ts"])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_response_field_missing_from_the_type_fails_the_check(example_app: Path, tmp_path: Path) -> None:
    """The assignability check can fail: a server field the type does not declare is an error."""
    work = tmp_path / "ts"
    work.mkdir()
    _build_and_probe_inputs(example_app, work)
    with uvicorn_server(example_app / "apps/api") as base, httpx.Client(base_url=base, timeout=30) as http:
        product = http.get("/api/catalog/products/heirloom-tomatoes").json()
    extra = {**product, "unexpected_field": 1}
    missing = {**product, "price": {k: v for k, v in product["price"].items() if k != "display"}}
    (work / "outputs.ts").write_text(
        'import type { Product } from "./types/models";\n'
        f"export const p: Product = {_ts_literal(product)};\n"
        f"export const extra: Product = {_ts_literal(extra)};\n"
        f"export const missing: Product = {_ts_literal(missing)};\n",
        encoding="utf-8",
    )
    proc = tsc(work, ["types", "outputs.ts"])
    assert proc.returncode != 0
    errors = [line for line in proc.stdout.splitlines() if "error TS" in line]
    assert len(errors) == 2, proc.stdout  # the real body compiles; each doctored one does not
    assert "unexpected_field" in errors[0] and "display" in errors[1]
