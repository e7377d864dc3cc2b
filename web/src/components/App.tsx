import { useChat } from '../state/store-context.tsx';
import { Shell } from './Shell.tsx';
import { SignIn } from './SignIn.tsx';

/** Signed out: the sign-in page; signed in: the chat. */
export function App() {
  const session = useChat((state) => state.session);
  if (session === 'loading')
    return (
      <p className="splash" role="status">
        Loading Chorus…
      </p>
    );
  return session === 'signed-in' ? <Shell /> : <SignIn />;
}
