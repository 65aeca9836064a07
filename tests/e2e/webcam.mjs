// The web app end to end in Debian's headless Chromium: a fake camera plays a video of a real
// face, and the page must find it, stream crops of it (with the face's box in the crop) to the
// server and show the right emotion; then a photo goes through the upload form, then a group photo
// whose every face must be shown, then a photo to a server without a face detector (the page sends
// the face MediaPipe found); then a camera that sees no face must say so and send nothing.
// Prints one JSON line of figures; exits non-zero, saying why, when anything is wrong.
//
// usage: node webcam.mjs <page url> <camera .y4m> <upload photo> <expected emotion> <screenshot dir>
//        <no-face .y4m> <group photo> <number of faces in it> <url of a server with FACE_DETECTOR=off>

import { chromium } from 'playwright-core';

const [url, video, photo, expected, shots, noFaceVideo, groupPhoto, groupFaces, noDetectorUrl] = process.argv.slice(2);
if (!noDetectorUrl) {
  console.error(
    'usage: node webcam.mjs <url> <video.y4m> <photo> <expected emotion> <screenshot dir> <no-face.y4m> ' +
      '<group photo> <faces in it> <no-detector server url>',
  );
  process.exit(2);
}

const SUSTAIN_S = 10;
const MIN_RESULTS_PER_S = 10;
// The page's crops: 128x128 around the face with a 10% margin a side, so the face's box in the
// crop, which the page sends and the server answers with, is 128/1.2 pixels a side, 128/12 in.
const CROP = 128;
const INNER = { x: CROP / 12, y: CROP / 12, width: CROP / 1.2, height: CROP / 1.2 };
const INNER_TOLERANCE_PX = 1.5;

/** Why the live result `r` does not show the crop's inner box as its face, or null. */
function innerBoxProblem(r) {
  if (r?.face_detected !== true) return `face_detected is ${r?.face_detected}`;
  const b = r.face_bounds ?? {};
  const off = ['x', 'y', 'width', 'height'].filter((k) => !(Math.abs(b[k] - INNER[k]) <= INNER_TOLERANCE_PX));
  return off.length ? `face_bounds ${JSON.stringify(b)} is not the crop's inner box (${off.join(', ')} off)` : null;
}

const problems = [];
const consoleErrors = [];

/** Chromium with a fake camera that plays `camera`. */
function launch(camera) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      `--use-file-for-fake-video-capture=${camera}`,
    ],
  });
}

/** A page of `browser` at `url` with the camera allowed; its console errors go to `consoleErrors`. */
async function openPage(browser, at = url) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  await context.grantPermissions(['camera']);
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => consoleErrors.push(`request failed: ${r.url()}`));
  await page.goto(at, { waitUntil: 'load' });
  return page;
}

const browser = await launch(video);

/** Waits for `predicate` over the page's `window.__emotion`, or fails saying `what`. */
async function waitFor(page, what, predicate, timeoutMs = 30_000) {
  try {
    await page.waitForFunction(predicate, null, { timeout: timeoutMs, polling: 100 });
  } catch {
    const state = await page.evaluate(() => JSON.stringify(window.__emotion ?? null));
    throw new Error(`${what} within ${timeoutMs / 1000} s; page state: ${state}`);
  }
}

/** Uploads `file` through the form; the answer and what the page shows of it. */
async function upload(page, file) {
  await page.setInputFiles('#upload-file', file);
  await page.evaluate(() => {
    window.__emotion.uploadResult = null;
  });
  await page.click('#upload-submit');
  await waitFor(page, `no upload result for ${file}`, () => window.__emotion.uploadResult !== null);
  // The page draws once the answer is in; a frame later it has.
  await page.waitForTimeout(200);
  return page.evaluate(() => ({
    shown: document.querySelector('#upload-emotion')?.textContent?.trim(),
    note: document.querySelector('#upload-note')?.textContent?.trim(),
    result: window.__emotion.uploadResult,
    boxes: window.__emotion.uploadBoxes,
    listShown: !document.querySelector('#upload-faces').hidden,
    list: [...document.querySelectorAll('#upload-faces li')].map((li) => ({
      number: li.querySelector('.upload-face-number')?.textContent,
      emotion: li.querySelector('.upload-face-name')?.textContent,
      confidence: li.querySelector('.upload-face-confidence')?.textContent,
    })),
  }));
}

let figures = {};
try {
  const page = await openPage(browser);
  await waitFor(page, 'the camera did not start', () => window.__emotion?.cameraStarted === true);
  // (On failure waitFor prints the page state, whose cameraError says why the camera failed.)
  await waitFor(page, 'MediaPipe found no face', () => window.__emotion.faceFound === true, 60_000);
  await waitFor(page, 'no result came over the WebSocket', () => window.__emotion.results > 0);
  await waitFor(page, 'the timeline drew nothing', () => window.__emotion.timelinePoints > 1);

  // Sustained rate: results counted over SUSTAIN_S seconds, the bars sampled along the way.
  const barWidths = async () =>
    page.$$eval('#bars [data-emotion] .fill', (fills) => fills.map((f) => f.style.width));
  const start = await page.evaluate(() => ({
    results: window.__emotion.results,
    detections: window.__emotion.detections,
    t: performance.now(),
  }));
  const bars = [await barWidths()];
  const shownEmotions = new Map();
  const rtts = [];
  const timeline = [];
  const liveBoxes = [];
  for (let s = 0; s < SUSTAIN_S; s++) {
    await page.waitForTimeout(1000);
    const now = await page.evaluate(() => ({
      emotion: document.querySelector('#emotion-name')?.textContent?.trim(),
      rtt: window.__emotion.rttMs,
      points: window.__emotion.timelinePoints,
      result: window.__emotion.lastResult,
    }));
    const boxProblem = innerBoxProblem(now.result);
    if (boxProblem) problems.push(`live result ${s + 1}: ${boxProblem}`);
    liveBoxes.push(now.result?.face_bounds);
    shownEmotions.set(now.emotion, (shownEmotions.get(now.emotion) ?? 0) + 1);
    rtts.push(now.rtt);
    timeline.push(now.points);
    bars.push(await barWidths());
  }
  const end = await page.evaluate(() => ({
    results: window.__emotion.results,
    t: performance.now(),
    detections: window.__emotion.detections,
    dropped: window.__emotion.droppedFrames,
    errors: window.__emotion.errors,
    model: window.__emotion.lastResult?.model_used,
    socket: window.__emotion.socketState,
  }));
  const seconds = (end.t - start.t) / 1000;
  const resultsPerSecond = (end.results - start.results) / seconds;
  const shown = [...shownEmotions.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];

  if (resultsPerSecond < MIN_RESULTS_PER_S) {
    problems.push(`${resultsPerSecond.toFixed(1)} results/s over ${seconds.toFixed(1)} s, under ${MIN_RESULTS_PER_S}`);
  }
  if (shown !== expected) {
    problems.push(`the page showed ${JSON.stringify(Object.fromEntries(shownEmotions))}, expected mostly ${expected}`);
  }
  if (bars.some((b) => b.length !== 7)) problems.push(`expected 7 bars, saw ${bars.map((b) => b.length)}`);
  if (new Set(bars.map((b) => b.join())).size < 2) problems.push(`the bars never changed: ${bars[0]}`);
  if (!(timeline.at(-1) > timeline[0])) problems.push(`the timeline did not grow: ${timeline}`);
  if (end.errors.length) problems.push(`error messages: ${end.errors.join('; ')}`);
  if (end.socket !== 'open') problems.push(`the socket is ${end.socket}`);

  await page.screenshot({ path: `${shots}/webcam.png` });

  // The upload path, with a photo.
  const uploaded = await upload(page, photo);
  if (uploaded.result?.success !== true) problems.push(`upload failed: ${JSON.stringify(uploaded.result)}`);
  if (uploaded.shown !== expected) problems.push(`the upload showed ${uploaded.shown}, expected ${expected}`);
  if (uploaded.result?.face_detected !== true) problems.push('the upload found no face in the photo');
  if (uploaded.boxes.length !== 1) problems.push(`the photo showed ${uploaded.boxes.length} face boxes, expected 1`);
  if (uploaded.listShown) problems.push('the face list is shown for a photo of one face');
  await page.screenshot({ path: `${shots}/upload.png`, fullPage: true });

  // A group photo: the server finds every face and the page shows each, largest first.
  const group = await upload(page, groupPhoto);
  const wanted = Number(groupFaces);
  const faces = group.result?.faces ?? [];
  if (group.result?.success !== true) problems.push(`group upload failed: ${JSON.stringify(group.result)}`);
  if (faces.length !== wanted) {
    problems.push(`the server found ${faces.length} faces in the group photo, expected ${wanted}`);
  }
  if (group.boxes.length !== wanted) {
    problems.push(`the group photo showed ${group.boxes.length} face boxes, expected ${wanted}`);
  }
  if (!group.listShown) problems.push('the face list is hidden for the group photo');
  const listed = group.list.map((item) => item.emotion);
  if (listed.join() !== faces.map((f) => f.emotion).join()) {
    problems.push(`the face list shows ${JSON.stringify(group.list)}, the server said ${faces.map((f) => f.emotion)}`);
  }
  if (group.list.some((item, i) => item.number !== String(i + 1) || !/^\d+%$/.test(item.confidence))) {
    problems.push(`the face list is not numbered with confidences: ${JSON.stringify(group.list)}`);
  }
  const areas = faces.map((f) => f.face_bounds.width * f.face_bounds.height);
  if (areas.some((a, i) => i > 0 && a > areas[i - 1])) problems.push(`the faces are not largest first: ${areas}`);
  if (group.shown !== faces[0]?.emotion) {
    problems.push(`the group upload showed ${group.shown}, the largest face is ${faces[0]?.emotion}`);
  }
  if (!/faces found by the server/.test(group.note)) problems.push(`the group note says ${JSON.stringify(group.note)}`);
  await page.locator('#photo').screenshot({ path: `${shots}/upload-group.png` });

  // A phone screen: the same page must still lay out and keep streaming.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(1500);
  await page.screenshot({ path: `${shots}/phone.png`, fullPage: true });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 0) problems.push(`the page is ${overflow}px wider than a 390px phone screen`);
  await page.context().close();

  rtts.sort((a, b) => a - b);
  figures = {
    results_per_second: Number(resultsPerSecond.toFixed(1)),
    rtt_ms_median: Number(rtts[Math.floor(rtts.length / 2)]?.toFixed(1)),
    rtt_ms_max_of_medians: Number(rtts.at(-1)?.toFixed(1)),
    detections_per_second: Number(((end.detections - start.detections) / seconds).toFixed(1)),
    dropped_frames: end.dropped,
    shown,
    model_used: end.model,
    upload: uploaded.shown,
    group: listed,
    live_face_bounds: liveBoxes.at(-1),
  };
} catch (e) {
  problems.push(e.message);
}

// A server without a face detector classifies the whole photo; the page then sends the face
// that MediaPipe found in it.
try {
  const page = await openPage(browser, `${url}?server=${encodeURIComponent(noDetectorUrl)}`);
  await waitFor(page, 'MediaPipe did not start (no-detector server)', () => window.__emotion.detections > 0, 60_000);
  const uploaded = await upload(page, photo);
  const r = uploaded.result;
  if (r?.success !== true || r.face_detected !== true) {
    problems.push(`with no server detector the upload found no face: ${JSON.stringify(r)}`);
  }
  if (uploaded.shown !== expected) problems.push(`with no server detector the upload showed ${uploaded.shown}`);
  if (!/Face found in your browser/.test(uploaded.note)) {
    problems.push(`with no server detector the note says ${JSON.stringify(uploaded.note)}`);
  }
  if (uploaded.boxes.length !== 1) problems.push(`with no server detector ${uploaded.boxes.length} boxes were drawn`);
  figures.no_detector_upload = uploaded.note;
} catch (e) {
  problems.push(e.message);
} finally {
  await browser.close();
}

// No face in view: the page says so and sends nothing.
const faceless = await launch(noFaceVideo);
try {
  const page = await openPage(faceless);
  await waitFor(page, 'the camera did not start (no-face video)', () => window.__emotion?.cameraStarted === true);
  await waitFor(page, 'the detector never ran on the no-face video', () => window.__emotion.detections >= 20, 60_000);
  const seen = await page.evaluate(() => ({
    faceFound: window.__emotion.faceFound,
    results: window.__emotion.results,
    errors: window.__emotion.errors,
    status: document.querySelector('#face-status')?.textContent?.trim(),
    emotion: document.querySelector('#emotion-name')?.textContent?.trim(),
  }));
  if (seen.faceFound) problems.push('MediaPipe found a face in the no-face video');
  if (seen.results !== 0) problems.push(`${seen.results} results came back with no face in view: frames were sent`);
  if (seen.status !== 'No face in view') problems.push(`with no face the page said ${JSON.stringify(seen.status)}`);
  if (seen.errors.length) problems.push(`error messages with no face: ${seen.errors.join('; ')}`);
  await page.screenshot({ path: `${shots}/no-face.png` });
  figures.no_face = seen.status;
} catch (e) {
  problems.push(e.message);
} finally {
  await faceless.close();
}

if (consoleErrors.length) problems.push(`console errors: ${consoleErrors.join(' | ')}`);
console.log(JSON.stringify(figures));
if (problems.length) {
  console.error(`web app end to end FAILED:\n- ${problems.join('\n- ')}`);
  process.exit(1);
}
