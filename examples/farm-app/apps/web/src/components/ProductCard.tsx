import { type Product, Unit } from "../types/models";

// How a shopper reads each unit; keyed by the generated enum, so a new Unit member fails to compile here.
const UNIT_LABELS: Record<Unit, string> = {
  [Unit.kilogram]: "kg",
  [Unit.piece]: "piece",
  [Unit.bunch]: "bunch",
  [Unit.dozen]: "dozen",
  [Unit.litre]: "litre",
  [Unit.jar]: "jar",
};

interface ProductCardProps {
  product: Product;
  /** Called with a tag when the shopper clicks it, to filter by it. */
  onTagClick?: (tag: string) => void;
}

export function ProductCard({ product, onTagClick }: ProductCardProps) {
  const image = product.images[0];
  return (
    <article className="product-card">
      {image ? (
        <img src={image.url} alt={image.alt_text} />
      ) : (
        <div className="product-card__placeholder" aria-hidden="true">
          {product.name.charAt(0)}
        </div>
      )}
      <h3>{product.name}</h3>
      <p className="product-card__farm">{product.farm}</p>
      <p className="product-card__price">
        {product.price.display} <span>/ {UNIT_LABELS[product.unit]}</span>
      </p>
      <ul className="product-card__tags">
        {product.organic && <li className="organic">organic</li>}
        {product.tags.map((tag) => (
          <li key={tag}>
            <button type="button" className="tag" onClick={() => onTagClick?.(tag)} disabled={!onTagClick}>
              {tag}
            </button>
          </li>
        ))}
      </ul>
      <p className={product.stock > 0 ? "stock" : "stock stock--out"}>
        {product.stock > 0 ? `${product.stock} in stock` : "Sold out"}
      </p>
    </article>
  );
}
