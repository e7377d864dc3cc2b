import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { TestClient } from '../realtime/client.ts';
import { testDatabases } from '../support/databases.ts';
import { startS3Server, type S3Server } from '../support/s3-server.ts';
import { startTestServer, type Session, type TestServer } from '../support/server.ts';

const maxBytes = 200_000;

const storages = [{ name: 'disk storage' }, { name: 'S3 storage (s3rver)', s3: true }];
const runs = testDatabases().flatMap((database) => storages.map((storage) => ({ database, storage })));

for (const { database, storage } of runs) {
  describe(`attachments on ${database.name}, ${storage.name}`, () => {
    let server: TestServer;
    let s3: S3Server | undefined;
    let alice: Session;
    let bob: Session;
    let carol: Session; // not in the conversation
    let conversationId: string;
    let png: Buffer;

    before(async () => {
      if (storage.s3) s3 = await startS3Server();
      server = await startTestServer({
        databaseUrl: await database.createUrl(),
        env: { CHORUS_ATTACHMENT_MAX_BYTES: String(maxBytes), ...s3?.env },
      });
      alice = await server.register('acme', 'alice');
      bob = await server.join(alice, 'bob');
      carol = await server.join(alice, 'carol');
      conversationId = (
        await server.request('POST', '/api/v1/conversations', {
          token: alice.accessToken,
          body: { kind: 'group', title: 'files', members: [{ type: 'user', id: bob.user.id }] },
        })
      ).body.id;
      png = await sharp({ create: { width: 800, height: 400, channels: 3, background: '#3366cc' } })
        .png()
        .toBuffer();
    });
    after(async () => {
      await server?.close();
      await s3?.close();
    });

    const upload = async (session: Session, bytes: Buffer, name: string, type: string, target = conversationId) => {
      const form = new FormData();
      form.append('file', new Blob([new Uint8Array(bytes)], { type }), name);
      const response = await fetch(`${server.url}/api/v1/conversations/${target}/attachments`, {
        method: 'POST',
        headers: { authorization: `Bearer ${session.accessToken}` },
        body: form,
      });
      return { status: response.status, body: await response.json() };
    };
    const download = (session: Session, url: string) =>
      fetch(server.url + url, { headers: { authorization: `Bearer ${session.accessToken}` } });
    /** How many objects the storage holds (files under the data dir, or under s3rver's bucket dir). */
    const storedFiles = () => {
      try {
        if (s3)
          return readdirSync(path.join(s3.directory, s3.bucket), { recursive: true }).filter((file) =>
            String(file).endsWith('._S3rver_object'),
          ).length;
        return readdirSync(path.join(server.dataDir, 'attachments'), { recursive: true }).length;
      } catch {
        return 0;
      }
    };
    const send = async (session: Session, target: string, body: Record<string, unknown>) => {
      const sent = await server.request('POST', `/api/v1/conversations/${target}/messages`, { token: session.accessToken, body });
      assert.equal(sent.status, 201, JSON.stringify(sent.body));
      return sent.body;
    };

    it('stores an image with a thumbnail, sends it as a part, and serves it to members only', async () => {
      const uploaded = await upload(alice, png, 'blue.png', 'image/png');
      assert.equal(uploaded.status, 201, JSON.stringify(uploaded.body));
      assert.equal(uploaded.body.contentType, 'image/png');
      assert.equal(uploaded.body.sizeBytes, png.length);
      assert.ok(uploaded.body.thumbnailUrl);

      const sent = await server.request('POST', `/api/v1/conversations/${conversationId}/messages`, {
        token: alice.accessToken,
        body: { content: 'look', attachmentIds: [uploaded.body.attachmentId] },
      });
      assert.equal(sent.status, 201, JSON.stringify(sent.body));
      assert.deepEqual(sent.body.parts, [uploaded.body]);

      const original = await download(bob, uploaded.body.url);
      assert.equal(original.status, 200);
      assert.equal(original.headers.get('content-type'), 'image/png');
      assert.match(original.headers.get('content-disposition')!, /^inline; filename\*=UTF-8''blue\.png$/);
      assert.equal(original.headers.get('x-content-type-options'), 'nosniff');
      assert.deepEqual(Buffer.from(await original.arrayBuffer()), png);
      const thumbnail = await download(bob, uploaded.body.thumbnailUrl);
      const meta = await sharp(Buffer.from(await thumbnail.arrayBuffer())).metadata();
      assert.equal(meta.format, 'webp');
      assert.deepEqual([meta.width, meta.height], [256, 128]);

      assert.equal((await download(carol, uploaded.body.url)).status, 404);
      const mallory = await server.register('other', 'mallory');
      assert.equal((await download(mallory, uploaded.body.url)).status, 404);
    });

    it('serves text, including HTML, as a download, never inline', async () => {
      const html = Buffer.from('<html><script>alert(1)</script></html>');
      const uploaded = await upload(alice, html, 'page.html', 'text/html');
      assert.equal(uploaded.status, 201, JSON.stringify(uploaded.body));
      assert.equal(uploaded.body.contentType, 'text/plain');
      const response = await download(bob, uploaded.body.url);
      assert.equal(response.headers.get('content-type'), 'text/plain');
      assert.match(response.headers.get('content-disposition')!, /^attachment;/);
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
    });

    it('refuses disguised, disallowed, oversize and foreign uploads, storing nothing', async () => {
      const before = storedFiles();
      const disguised = await upload(alice, Buffer.from('<html>not a picture</html>'), 'cat.png', 'image/png');
      assert.equal(disguised.status, 400);
      assert.equal(disguised.body.error.code, 'invalid_request');
      for (const declared of ['application/octet-stream', '']) {
        const renamed = await upload(alice, Buffer.from('<html><script>alert(1)</script></html>'), 'cat.png', declared);
        assert.equal(renamed.status, 400, `HTML renamed .png, declared ${declared || 'nothing'}`);
        assert.equal(renamed.body.error.code, 'invalid_request');
        assert.match(renamed.body.error.message, /text\/plain/);
      }
      const gzip = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 0x03, 1, 2, 3, 4]);
      const disallowed = await upload(alice, gzip, 'data.gz', 'application/octet-stream');
      assert.equal(disallowed.status, 400);
      const oversize = await upload(alice, Buffer.alloc(maxBytes + 1, 'a'), 'big.txt', 'text/plain');
      assert.equal(oversize.status, 413, JSON.stringify(oversize.body));
      assert.equal(oversize.body.error.code, 'payload_too_large');
      const outsider = await upload(carol, png, 'x.png', 'image/png');
      assert.equal(outsider.status, 404);
      assert.equal(storedFiles(), before);
    });

    it("refuses sending someone else's upload, over HTTP and WebSocket", async () => {
      const bobs = await upload(bob, Buffer.from('notes'), 'notes.txt', 'text/plain');
      const before = (await server.request('GET', `/api/v1/conversations/${conversationId}`, { token: alice.accessToken })).body
        .lastSeq;
      const refused = await server.request('POST', `/api/v1/conversations/${conversationId}/messages`, {
        token: alice.accessToken,
        body: { content: 'mine now', attachmentIds: [bobs.body.attachmentId] },
      });
      assert.equal(refused.status, 400);
      const client = await TestClient.connect(server, alice.accessToken);
      try {
        const error = await client.request({
          type: 'send',
          conversationId,
          clientMsgId: 'a-1',
          content: 'mine now',
          attachmentIds: [bobs.body.attachmentId],
        });
        assert.equal(error.type, 'error');
        assert.equal(error.code, 'invalid_request');
        const own = await client.request({ type: 'send', conversationId, clientMsgId: 'a-2', content: 'x', attachmentIds: [] });
        assert.equal(own.type, 'ack');
      } finally {
        await client.close();
      }
      const afterwards = (await server.request('GET', `/api/v1/conversations/${conversationId}`, { token: alice.accessToken }))
        .body.lastSeq;
      assert.equal(afterwards, before + 1);
    });

    it('forwards an attachment as a copy the members of the target can download, over HTTP and WebSocket', async () => {
      const withCarol = (
        await server.request('POST', '/api/v1/conversations', {
          token: alice.accessToken,
          body: { kind: 'group', title: 'with carol', members: [{ type: 'user', id: carol.user.id }] },
        })
      ).body.id;
      const uploaded = await upload(alice, png, 'share.png', 'image/png');
      const original = await send(alice, conversationId, { content: 'to share', attachmentIds: [uploaded.body.attachmentId] });

      const forwarded = await server.request('POST', `/api/v1/messages/${original.id}/forward`, {
        token: alice.accessToken,
        body: { conversationId: withCarol },
      });
      assert.equal(forwarded.status, 201, JSON.stringify(forwarded.body));
      const [copy] = forwarded.body.parts;
      assert.notEqual(copy.attachmentId, uploaded.body.attachmentId, 'the copy is a new attachment of the target');
      assert.equal(copy.name, 'share.png');
      const asCarol = await download(carol, copy.url);
      assert.equal(asCarol.status, 200, 'a member of the target who is not in the source can download it');
      assert.deepEqual(Buffer.from(await asCarol.arrayBuffer()), png);
      assert.equal((await download(carol, copy.thumbnailUrl)).status, 200);
      assert.equal((await download(carol, uploaded.body.url)).status, 404, 'the source stays closed to her');

      const client = await TestClient.connect(server, alice.accessToken);
      try {
        const ack = await client.request({ type: 'forward', messageId: original.id, conversationId: withCarol });
        assert.equal(ack.type, 'ack', JSON.stringify(ack));
        assert.equal(ack.message.conversationId, withCarol);
        assert.equal(ack.message.parts.length, 1);
        assert.equal((await download(carol, ack.message.parts[0].url)).status, 200);
        const bobsOwn = (
          await server.request('POST', '/api/v1/conversations', {
            token: bob.accessToken,
            body: { kind: 'group', title: 'bob alone', members: [] },
          })
        ).body.id;
        const before = storedFiles();
        const refused = await client.request({ type: 'forward', messageId: original.id, conversationId: bobsOwn });
        assert.equal(refused.type, 'error');
        assert.equal(refused.code, 'not_found');
        assert.equal(storedFiles(), before, 'nothing copied for a refused forward');
      } finally {
        await client.close();
      }
    });

    it('removes the attachments of a deleted message: rows, bytes and thumbnail', async () => {
      const uploaded = await upload(alice, png, 'short-lived.png', 'image/png');
      const before = storedFiles();
      const message = await send(alice, conversationId, { content: 'soon gone', attachmentIds: [uploaded.body.attachmentId] });
      const forwarded = await server.request('POST', `/api/v1/messages/${message.id}/forward`, {
        token: alice.accessToken,
        body: { conversationId },
      });
      assert.equal(storedFiles(), before + 2, 'the forwarded copy has its own original and thumbnail');
      const deleted = await server.request('DELETE', `/api/v1/messages/${message.id}`, { token: bob.accessToken });
      assert.equal(deleted.status, 403, 'a plain member cannot delete it, and nothing is removed');
      assert.equal((await download(bob, uploaded.body.url)).status, 200);
      assert.equal((await server.request('DELETE', `/api/v1/messages/${message.id}`, { token: alice.accessToken })).status, 200);
      assert.equal((await download(bob, uploaded.body.url)).status, 404);
      assert.equal((await download(bob, uploaded.body.thumbnailUrl)).status, 404);
      assert.equal(storedFiles(), before, "both objects of the original are gone, the copy's remain");
      assert.equal((await download(bob, forwarded.body.parts[0].url)).status, 200, 'the forwarded copy stays');
    });
  });
}
