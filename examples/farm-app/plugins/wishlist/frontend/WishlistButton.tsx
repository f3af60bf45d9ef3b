import { useEffect, useState } from "react";

export interface WishlistButtonProps {
  productId: string;
  customerId: string;
  /** Where the plugin's backend router is mounted. */
  apiBase?: string;
}

interface WishlistItem {
  product_id: string;
  note: string | null;
  added_at: string;
}

/** A heart toggle that adds a product to, or removes it from, the shopper's wishlist. */
export function WishlistButton({ productId, customerId, apiBase = "/api/plugins/wishlist" }: WishlistButtonProps) {
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const listUrl = `${apiBase}/${encodeURIComponent(customerId)}`;

  useEffect(() => {
    let cancelled = false;
    fetch(listUrl)
      .then((res) => (res.ok ? (res.json() as Promise<WishlistItem[]>) : []))
      .then((items) => {
        if (!cancelled) setSaved(items.some((item) => item.product_id === productId));
      })
      .catch(() => undefined);
    return () => {
      cancelled = true;
    };
  }, [listUrl, productId]);

  async function toggle() {
    setBusy(true);
    try {
      const res = saved
        ? await fetch(`${listUrl}/${encodeURIComponent(productId)}`, { method: "DELETE" })
        : await fetch(listUrl, {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ product_id: productId }),
          });
      if (res.ok) setSaved(!saved);
    } finally {
      setBusy(false);
    }
  }

  return (
    <button
      type="button"
      className="wishlist-button"
      aria-pressed={saved}
      disabled={busy}
      onClick={toggle}
      title={saved ? "Remove from wishlist" : "Save to wishlist"}
    >
      {saved ? "♥" : "♡"}
    </button>
  );
}

export default WishlistButton;
