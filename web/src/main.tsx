import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './components/App.tsx';
import { ChatStore } from './state/chat-store.ts';
import { StoreProvider } from './state/store-context.tsx';
import './styles.css';

const store = new ChatStore({ origin: window.location.origin, storage: window.localStorage });
void store.boot();
document.addEventListener('visibilitychange', () => {
  const active = store.state.activeConversationId;
  if (active && document.visibilityState === 'visible') store.markRead(active);
});

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <StoreProvider value={store}>
      <App />
    </StoreProvider>
  </StrictMode>,
);
