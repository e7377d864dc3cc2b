import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import sharp from 'sharp';
import { startTestServer, type Session, type TestServer } from '../support/server.ts';
import { launchBrowser, newPerson, signIn, visible } from './browser.ts';

describe('web client: edit, delete, react and threads', () => {
  let server: TestServer;
  let browser: Browser;
  let alice: Session;
  let bob: Session;

  before(async () => {
    browser = await launchBrowser();
    server = await startTestServer();
    alice = await server.register('acme', 'alice');
    bob = await server.join(alice, 'bob');
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('an edit, a reaction, a thread reply and a delete show live on the other side', async () => {
    const created = await server.request('POST', '/api/v1/conversations', {
      token: alice.accessToken,
      body: { kind: 'group', title: 'Edits', members: [{ type: 'user', id: bob.user.id }] },
    });
    await server.request('POST', `/api/v1/conversations/${created.body.id}/messages`, {
      token: alice.accessToken,
      body: { content: 'frist draft' },
    });
    const aliceContext = await newPerson(browser);
    const bobContext = await newPerson(browser);
    const alicePage = await signIn(aliceContext, server.url, { workspace: 'acme', handle: 'alice' });
    const bobPage = await signIn(bobContext, server.url, { workspace: 'acme', handle: 'bob' });
    for (const page of [alicePage, bobPage]) {
      await page.getByRole('navigation', { name: 'Inbox' }).getByRole('link', { name: /Edits/ }).click();
      await visible(page.getByRole('list', { name: 'Messages' }).getByText('frist draft'));
    }

    const aliceMessage = alicePage.locator('li.message[data-seq="1"]');
    await aliceMessage.getByRole('button', { name: 'Edit' }).click();
    await aliceMessage.getByRole('textbox', { name: 'Edit message' }).fill('first draft');
    await aliceMessage.getByRole('button', { name: 'Save' }).click();
    const bobMessage = bobPage.locator('li.message[data-seq="1"]');
    await visible(bobMessage.getByText('first draft'));
    await visible(bobMessage.getByText('(edited)'));
    assert.equal(await bobMessage.getByRole('button', { name: 'Edit' }).count(), 0, 'only the sender may edit');

    await bobMessage.getByRole('button', { name: 'React 👍' }).click();
    await visible(aliceMessage.getByRole('button', { name: '👍 1' }));

    await bobMessage.getByRole('button', { name: 'Reply' }).click();
    const thread = bobPage.getByRole('complementary', { name: 'Thread' });
    await visible(thread);
    const listBox = (await bobPage.getByRole('list', { name: 'Messages', exact: true }).boundingBox())!;
    const threadBox = (await thread.boundingBox())!;
    assert.ok(threadBox.x >= listBox.x + listBox.width - 1, 'the thread opens beside the conversation, on its right');
    assert.ok(threadBox.y < listBox.y + listBox.height, 'side by side, not below');
    await thread.getByRole('textbox', { name: 'Reply in thread' }).fill('a reply in the thread');
    await thread.getByRole('button', { name: 'Send reply' }).click();
    await visible(thread.getByRole('list', { name: 'Thread messages' }).getByText('a reply in the thread'));
    await visible(aliceMessage.getByRole('button', { name: '1 reply' }));
    await thread.getByRole('button', { name: 'Close thread' }).click();

    await aliceMessage.getByRole('button', { name: 'Delete' }).click();
    await visible(bobMessage.getByText('Message deleted'));
    await aliceContext.close();
    await bobContext.close();
  });

  test('an attached image shows as a thumbnail for the other member, and forwarding copies it', async () => {
    const group = async (title: string, members: Session[]) =>
      (
        await server.request('POST', '/api/v1/conversations', {
          token: alice.accessToken,
          body: { kind: 'group', title, members: members.map((member) => ({ type: 'user', id: member.user.id })) },
        })
      ).body.id as string;
    await group('Files', [bob]);
    await group('Notes to self', []);
    const png = await sharp({ create: { width: 64, height: 32, channels: 3, background: '#cc3366' } })
      .png()
      .toBuffer();
    const aliceContext = await newPerson(browser);
    const bobContext = await newPerson(browser);
    const alicePage = await signIn(aliceContext, server.url, { workspace: 'acme', handle: 'alice' });
    const bobPage = await signIn(bobContext, server.url, { workspace: 'acme', handle: 'bob' });
    for (const page of [alicePage, bobPage])
      await page.getByRole('navigation', { name: 'Inbox' }).getByRole('link', { name: /Files/ }).click();

    await alicePage.getByLabel('Attach file').setInputFiles({ name: 'pink.png', mimeType: 'image/png', buffer: png });
    const bobMessages = bobPage.getByRole('list', { name: 'Messages' });
    await visible(bobMessages.getByRole('img', { name: 'pink.png' }));
    await visible(bobMessages.getByRole('button', { name: 'Download pink.png' }));

    const aliceMessage = alicePage.locator('li.message[data-seq="1"]');
    await aliceMessage.getByRole('button', { name: 'Forward' }).click();
    await aliceMessage.getByLabel('Forward to').selectOption({ label: 'Notes to self' });
    await alicePage
      .getByRole('navigation', { name: 'Inbox' })
      .getByRole('link', { name: /Notes to self/ })
      .click();
    const forwarded = alicePage.getByRole('list', { name: 'Messages' }).locator('li.message[data-seq="1"]');
    await visible(forwarded.getByRole('img', { name: 'pink.png' }));
    await visible(forwarded.getByText('Forwarded'));

    const before = await alicePage.getByRole('list', { name: 'Messages', exact: true }).locator('li.message').count();
    await alicePage
      .getByLabel('Attach file')
      .setInputFiles({ name: 'evil.png', mimeType: 'image/png', buffer: Buffer.from('<html><script>alert(1)</script></html>') });
    await visible(
      alicePage
        .locator('.attach')
        .getByRole('status')
        .getByText(/text\/plain/),
    );
    assert.equal(
      await alicePage.getByRole('list', { name: 'Messages', exact: true }).locator('li.message').count(),
      before,
      'a refused upload sends nothing',
    );
    await aliceContext.close();
    await bobContext.close();
  });
});
