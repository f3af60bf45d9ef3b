// Fetch calls for the few endpoints the pages use. The types are farmbuild's, generated from the
// pydantic models (src/types); once the generated client lands (src/services/api, src/hooks/api),
// the pages import it instead of these functions.

import type { ErrorBody } from "../types/api";
import type { Category, ChatRequestInput, ChatResponse, ModelInfo, Page, Product } from "../types/models";

export interface ProductQuery {
  category?: Category;
  tags?: string[];
  q?: string;
  page?: number;
  size?: number;
}

/** A non-2xx answer; `detail` is FastAPI's error body (a string, or validation errors). */
export class HttpError extends Error {
  readonly status: number;
  readonly detail: unknown;

  constructor(status: number, detail: unknown) {
    super(typeof detail === "string" ? detail : `Request failed with status ${status}`);
    this.name = "HttpError";
    this.status = status;
    this.detail = detail;
  }
}

function isErrorBody(body: unknown): body is ErrorBody {
  return typeof body === "object" && body !== null && "detail" in body;
}

async function request<T>(path: string, init?: RequestInit): Promise<T> {
  const res = await fetch(path, {
    ...init,
    headers: { Accept: "application/json", ...(init?.body ? { "Content-Type": "application/json" } : {}) },
  });
  if (!res.ok) {
    const body: unknown = await res.json().catch(() => null);
    throw new HttpError(res.status, isErrorBody(body) ? body.detail : body);
  }
  return (await res.json()) as T;
}

export function listProducts(query: ProductQuery = {}): Promise<Page<Product>> {
  const params = new URLSearchParams();
  if (query.category) params.set("category", query.category);
  for (const tag of query.tags ?? []) params.append("tags", tag); // FastAPI reads repeated keys as a list
  if (query.q) params.set("q", query.q);
  if (query.page) params.set("page", String(query.page));
  if (query.size) params.set("size", String(query.size));
  const search = params.toString();
  return request(`/api/catalog/products${search ? `?${search}` : ""}`);
}

export function listModels(): Promise<ModelInfo[]> {
  return request("/api/assistant/models");
}

/** Send a conversation; `ChatRequestInput` is what the API accepts (defaulted fields optional). */
export function chat(body: ChatRequestInput): Promise<ChatResponse> {
  return request("/api/assistant/chat", { method: "POST", body: JSON.stringify(body) });
}
