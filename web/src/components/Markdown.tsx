import { memo } from 'react';
import ReactMarkdown, { type Components } from 'react-markdown';

type MdNode = { type: string; value?: string; children?: MdNode[] };

/** A remark plugin: raw HTML in a message is shown as the text it is, never interpreted. */
function htmlAsText() {
  const walk = (node: MdNode) => {
    if (node.type === 'html') node.type = 'text';
    node.children?.forEach(walk);
  };
  return (tree: MdNode) => walk(tree);
}

const components: Components = {
  // Remote images are never fetched by themselves: they become links the reader may open.
  img: ({ src, alt }) => (
    <a href={typeof src === 'string' ? src : undefined} target="_blank" rel="noopener noreferrer nofollow" className="image-link">
      🖼 {alt || 'image'}
    </a>
  ),
  a: ({ href, children }) => (
    <a href={href} target="_blank" rel="noopener noreferrer nofollow">
      {children}
    </a>
  ),
};

const remarkPlugins = [htmlAsText];

/** Message text as markdown, safely: no raw HTML, no auto-loaded images, unsafe URLs dropped. */
export const Markdown = memo(function Markdown({ text }: { text: string }) {
  return (
    <div className="markdown">
      <ReactMarkdown remarkPlugins={remarkPlugins} components={components}>
        {text}
      </ReactMarkdown>
    </div>
  );
});
