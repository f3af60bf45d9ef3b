import { useState } from "react";
import { ChatPage } from "./pages/ChatPage";
import { ProductsPage } from "./pages/ProductsPage";

type Tab = "produce" | "assistant";

export function App() {
  const [tab, setTab] = useState<Tab>("produce");

  return (
    <div className="app">
      <header className="app-header">
        <h1>Harvest Market</h1>
        <p className="tagline">Produce from local farms, delivered.</p>
        <nav>
          <button type="button" aria-current={tab === "produce"} onClick={() => setTab("produce")}>
            Produce
          </button>
          <button type="button" aria-current={tab === "assistant"} onClick={() => setTab("assistant")}>
            Ask the farmer
          </button>
        </nav>
      </header>
      <main>{tab === "produce" ? <ProductsPage /> : <ChatPage />}</main>
    </div>
  );
}
