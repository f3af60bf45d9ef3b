// Nobody logs in to browse the shop: a guest keeps one random id per browser (its wishlist's key).
const KEY = "harvest-market:shopper";

export function shopperId(): string {
  let id = localStorage.getItem(KEY);
  if (!id) {
    id = `guest-${crypto.randomUUID()}`;
    localStorage.setItem(KEY, id);
  }
  return id;
}
