// Hand-written types and fetch calls for the few endpoints the pages use.
// farmbuild generates all of this from the API (src/types, src/services/api, src/hooks/api);
// once it does, the pages import the generated client and hooks instead of this file.

export type Category = "vegetables" | "fruit" | "dairy" | "bakery" | "eggs" | "pantry";

export interface Money {
  amount: string; // a Decimal, sent as a string so no cent is lost
  currency: string;
  display: string;
}

export interface ProductImage {
  id: string;
  url: string;
  alt_text: string;
  content_type: string;
}

export interface Product {
  id: string;
  name: string;
  description: string;
  category: Category;
  unit: string;
  price: Money;
  stock: number;
  farm: string;
  organic: boolean;
  tags: string[];
  images: ProductImage[];
  created_at: string;
}

export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  size: number;
}

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface ChatRequest {
  messages: ChatMessage[];
  model?: string | null;
  temperature?: number;
}

export interface ChatResponse {
  message: ChatMessage;
  model: string;
  provider: string;
}

export interface ModelInfo {
  name: string;
  provider: string;
  default: boolean;
  available: boolean;
}

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

async function request<T>(path: string, init?: RequestInit): Promise<T> {
  const res = await fetch(path, {
    ...init,
    headers: { Accept: "application/json", ...(init?.body ? { "Content-Type": "application/json" } : {}) },
  });
  if (!res.ok) {
    const body: unknown = await res.json().catch(() => null);
    const detail = body && typeof body === "object" && "detail" in body ? body.detail : body;
    throw new HttpError(res.status, detail);
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

export function chat(body: ChatRequest): Promise<ChatResponse> {
  return request("/api/assistant/chat", { method: "POST", body: JSON.stringify(body) });
}
