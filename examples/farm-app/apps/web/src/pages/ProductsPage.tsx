import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { ProductCard } from "../components/ProductCard";
import { listProducts } from "../lib/http";
import { Category } from "../types/models";

// The shelves in the order Python declares them (the generated const object keeps member names).
const CATEGORIES: Category[] = Object.values(Category);
const PAGE_SIZE = 6;

export function ProductsPage() {
  const [category, setCategory] = useState<Category | undefined>();
  const [tags, setTags] = useState<string[]>([]);
  const [page, setPage] = useState(1);

  const query = { category, tags, page, size: PAGE_SIZE };
  const products = useQuery({
    queryKey: ["catalog", "products", query],
    queryFn: () => listProducts(query),
    placeholderData: keepPreviousData,
  });

  const lastPage = products.data ? Math.max(1, Math.ceil(products.data.total / PAGE_SIZE)) : 1;

  function addTag(tag: string) {
    setTags((current) => (current.includes(tag) ? current : [...current, tag]));
    setPage(1);
  }

  function removeTag(tag: string) {
    setTags((current) => current.filter((t) => t !== tag));
    setPage(1);
  }

  return (
    <section>
      <div className="filters">
        <label>
          Category{" "}
          <select
            value={category ?? ""}
            onChange={(e) => {
              setCategory(CATEGORIES.find((c) => c === e.target.value));
              setPage(1);
            }}
          >
            <option value="">All</option>
            {CATEGORIES.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </label>
        {tags.map((tag) => (
          <button key={tag} type="button" className="chip" onClick={() => removeTag(tag)} title="Remove filter">
            {tag} ×
          </button>
        ))}
      </div>

      {products.isPending && <p>Loading produce…</p>}
      {products.isError && <p className="error">Could not load produce: {products.error.message}</p>}
      {products.data && (
        <>
          <p className="muted">
            {products.data.total} product{products.data.total === 1 ? "" : "s"}
          </p>
          <div className="product-grid">
            {products.data.items.map((product) => (
              <ProductCard key={product.id} product={product} onTagClick={addTag} />
            ))}
          </div>
          <div className="pager">
            <button type="button" disabled={page <= 1} onClick={() => setPage(page - 1)}>
              Previous
            </button>
            <span>
              Page {page} of {lastPage}
            </span>
            <button type="button" disabled={page >= lastPage} onClick={() => setPage(page + 1)}>
              Next
            </button>
          </div>
        </>
      )}
    </section>
  );
}
