import { useMutation, useQuery } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { chat, listModels } from "../lib/http";
import type { ChatMessage } from "../types/models";

export function ChatPage() {
  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [draft, setDraft] = useState("");
  const [model, setModel] = useState<string>("");

  const models = useQuery({ queryKey: ["assistant", "models"], queryFn: listModels });
  const send = useMutation({
    mutationFn: chat,
    onSuccess: (response) => setMessages((current) => [...current, response.message]),
  });

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const content = draft.trim();
    if (!content || send.isPending) return;
    const conversation: ChatMessage[] = [...messages, { role: "user", content }];
    setMessages(conversation);
    setDraft("");
    send.mutate({ messages: conversation, model: model || null });
  }

  return (
    <section className="chat">
      <label>
        Model{" "}
        <select value={model} onChange={(e) => setModel(e.target.value)}>
          <option value="">Shop default</option>
          {models.data?.map((m) => (
            <option key={`${m.provider}/${m.name}`} value={m.name} disabled={!m.available}>
              {m.name} ({m.provider})
            </option>
          ))}
        </select>
      </label>

      <ol className="chat__log" aria-live="polite">
        {messages.length === 0 && <li className="muted">Ask what is in season, or for a recipe with what's in stock.</li>}
        {messages.map((m, i) => (
          <li key={i} className={`chat__message chat__message--${m.role}`}>
            {m.content}
          </li>
        ))}
        {send.isPending && <li className="chat__message chat__message--assistant muted">Thinking…</li>}
      </ol>
      {send.isError && <p className="error">The assistant is unavailable: {send.error.message}</p>}

      <form onSubmit={onSubmit} className="chat__form">
        <input
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
          placeholder="What can I make with rainbow carrots?"
          aria-label="Message"
          maxLength={8000}
        />
        <button type="submit" disabled={send.isPending || !draft.trim()}>
          Send
        </button>
      </form>
    </section>
  );
}
