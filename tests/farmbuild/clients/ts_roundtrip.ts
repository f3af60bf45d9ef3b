// Round trip through the generated TypeScript client (compiled by test_tsclient.py with tsc --strict
// and run in Node against the example app on uvicorn). Prints one JSON line with what it saw.

import {
  ApiError,
  configureClient,
  createClient,
  cancelOrder,
  createCustomer,
  createOrder,
  createProduct,
  deleteProduct,
  getProduct,
  getProductImage,
  listCategories,
  listProducts,
  updateProduct,
  uploadProductImage,
  type CancelOrderError,
  type GetProductError,
  type ListProductsError,
} from "../src/services/api";
import type { HTTPValidationError } from "../src/types/api";
import type { ErrorDetail } from "../src/types/models/common";
import type { Product } from "../src/types/models/catalog";

declare const process: { argv: string[]; exitCode: number };

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...new Array<number>(64).fill(0)]);

async function main(base: string): Promise<Record<string, unknown>> {
  const seen: Record<string, unknown> = {};
  configureClient({ baseUrl: base, headers: () => ({ "x-test": "1" }) });

  const created: Product = await createProduct({
    body: { name: "TS Kale", category: "vegetables", unit: "bunch", price: { amount: "2.50" }, farm: "TS Farm", tags: ["green", "leafy"] },
  });
  seen.created = created.id;
  seen.price = created.price.display;
  const again = await getProduct({ product_id: created.id });
  seen.read_back = JSON.stringify(again) === JSON.stringify(created);

  const both = await listProducts({ tags: ["green", "leafy"], size: 100 });
  seen.listed_both = both.items.filter((p) => p.id === created.id).map((p) => p.id);
  const wrong = await listProducts({ tags: ["green", "no-such-tag"] });
  seen.listed_wrong_tag = wrong.items.map((p) => p.id);

  const image = await uploadProductImage({
    product_id: created.id,
    file: new File([PNG], "kale.png", { type: "image/png" }),
    alt_text: "A bunch of kale",
  });
  seen.image_alt = image.alt_text;
  const blob = await getProductImage({ image_id: image.id });
  const bytes = new Uint8Array(await blob.arrayBuffer());
  seen.image_bytes_equal = bytes.length === PNG.length && bytes.every((b, i) => b === PNG[i]);

  const updated = await updateProduct({ product_id: created.id, body: { stock: 7 } });
  seen.updated_stock = updated.stock;
  seen.updated_name_kept = updated.name;

  try {
    await listProducts({ size: 1000 });
  } catch (e) {
    if (e instanceof ApiError) {
      const err = e as ListProductsError;
      if (err.is(422)) {
        const body: HTTPValidationError = err.body;
        seen["422"] = [err.status, (body.detail ?? []).map((d) => d.loc)];
      }
    }
  }
  try {
    await getProduct({ product_id: "no-such-product" });
  } catch (e) {
    if (e instanceof ApiError) {
      const err = e as GetProductError;
      if (err.is(404)) {
        const body: ErrorDetail = err.body;
        seen["404"] = [err.status, body.detail];
      }
    }
  }

  const customer = await createCustomer({ body: { email: "ts@example.test", name: "TS Trip" } });
  const orderBody = {
    customer_id: customer._id,
    lines: [{ product_id: created.id, quantity: 2 }],
    payment: { method: "card" as const, brand: "visa" as const, last4: "4242" },
  };
  const order = await createOrder({ body: orderBody, idempotency_key: "ts-1" });
  const retry = await createOrder({ body: orderBody, idempotency_key: "ts-1" });
  seen.idempotent = retry.id === order.id;
  seen.order_total = order.total.display;
  try {
    await cancelOrder({ order_id: order.id, customer_id: "someone-else" });
  } catch (e) {
    if (e instanceof ApiError) seen["403"] = (e as CancelOrderError).status;
  }
  seen.cancelled = (await cancelOrder({ order_id: order.id, customer_id: customer._id })).status;

  await deleteProduct({ product_id: created.id });
  try {
    await getProduct({ product_id: created.id });
  } catch (e) {
    if (e instanceof ApiError) seen.deleted = e.status;
  }

  // a second client, per call, and an AbortSignal
  const other = createClient({ baseUrl: base });
  seen.categories = await listCategories({}, { client: other });
  const abort = new AbortController();
  abort.abort();
  try {
    await listProducts({}, { signal: abort.signal });
    seen.aborted = false;
  } catch (e) {
    seen.aborted = e instanceof Error && e.name === "AbortError";
  }
  return seen;
}

main(process.argv[2]).then(
  (seen) => console.log(JSON.stringify(seen)),
  (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  },
);
