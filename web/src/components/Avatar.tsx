import type { CSSProperties } from 'react';
import { initials } from '../format.ts';

/** A round badge with initials; agents get a distinct shape and colour. */
export function Avatar({ name, agent = false }: { name: string; agent?: boolean }) {
  let hash = 0;
  for (const char of name) hash = (hash * 31 + char.charCodeAt(0)) % 360;
  return (
    <span className={`avatar${agent ? ' avatar-agent' : ''}`} style={{ '--hue': hash } as CSSProperties} aria-hidden="true">
      {agent ? '✦' : initials(name)}
    </span>
  );
}
