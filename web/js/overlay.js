// The face box over the mirrored video: corner brackets and a label, eased between detections.
import { COLOR } from "./emotions.js";

const EASE = 0.35;

export class FaceOverlay {
  constructor(canvas, video) {
    this.canvas = canvas;
    this.video = video;
    this.ctx = canvas.getContext("2d");
    this.target = null;
    this.shown = null;
    this.label = null;
    this.dirty = true;
    const loop = () => {
      this.tick();
      requestAnimationFrame(loop);
    };
    requestAnimationFrame(loop);
    new ResizeObserver(() => {
      this.dirty = true;
    }).observe(canvas);
  }

  /** The face box relative to the (unmirrored) video frame, or null. */
  setBox(box) {
    this.target = box;
    if (!box) this.shown = null;
    else if (!this.shown) this.shown = { ...box };
    this.dirty = true;
  }

  /** The emotion shown beside the box, or null. */
  setLabel(emotion, confidence) {
    const label = emotion ? { emotion, confidence } : null;
    if (
      label?.emotion !== this.label?.emotion ||
      Math.round((label?.confidence ?? 0) * 100) !== Math.round((this.label?.confidence ?? 0) * 100)
    ) {
      this.label = label;
      this.dirty = true;
    }
  }

  tick() {
    const { target, shown } = this;
    if (target && shown) {
      let moving = false;
      for (const key of ["x", "y", "width", "height"]) {
        const delta = target[key] - shown[key];
        if (Math.abs(delta) > 0.0005) {
          shown[key] += delta * EASE;
          moving = true;
        } else {
          shown[key] = target[key];
        }
      }
      if (moving) this.dirty = true;
    }
    if (this.dirty) {
      this.dirty = false;
      this.draw();
    }
  }

  draw() {
    const { canvas, ctx, video } = this;
    const dpr = window.devicePixelRatio || 1;
    const cw = canvas.clientWidth;
    const ch = canvas.clientHeight;
    if (!cw || !ch) return;
    if (canvas.width !== Math.round(cw * dpr) || canvas.height !== Math.round(ch * dpr)) {
      canvas.width = Math.round(cw * dpr);
      canvas.height = Math.round(ch * dpr);
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, cw, ch);
    const box = this.shown;
    const vw = video.videoWidth;
    const vh = video.videoHeight;
    if (!box || !vw || !vh) return;

    // The video is shown with object-fit: cover and mirrored.
    const scale = Math.max(cw / vw, ch / vh);
    const dw = vw * scale;
    const dh = vh * scale;
    const ox = (cw - dw) / 2;
    const oy = (ch - dh) / 2;
    const x = ox + (1 - box.x - box.width) * dw;
    const y = oy + box.y * dh;
    const w = box.width * dw;
    const h = box.height * dh;

    const color = this.label ? COLOR[this.label.emotion] ?? "#fff" : "#ffffff";
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = "rgba(255,255,255,.35)";
    roundRect(ctx, x, y, w, h, 10);
    ctx.stroke();

    const arm = Math.max(10, Math.min(w, h) * 0.22);
    ctx.lineWidth = 4;
    ctx.lineCap = "round";
    ctx.strokeStyle = color;
    ctx.shadowColor = "rgba(0,0,0,.45)";
    ctx.shadowBlur = 6;
    ctx.beginPath();
    for (const [cx, cy, sx, sy] of [
      [x, y, 1, 1],
      [x + w, y, -1, 1],
      [x, y + h, 1, -1],
      [x + w, y + h, -1, -1],
    ]) {
      ctx.moveTo(cx, cy + sy * arm);
      ctx.lineTo(cx, cy);
      ctx.lineTo(cx + sx * arm, cy);
    }
    ctx.stroke();
    ctx.shadowBlur = 0;

    if (this.label) {
      const text = `${this.label.emotion}  ${Math.round(this.label.confidence * 100)}%`;
      ctx.font = `600 14px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif`;
      const tw = ctx.measureText(text).width;
      const pw = tw + 36;
      const ph = 28;
      const px = Math.min(Math.max(4, x), cw - pw - 4);
      let py = y - ph - 8;
      if (py < 4) py = Math.min(ch - ph - 4, y + h + 8);
      ctx.fillStyle = "rgba(10,12,18,.74)";
      roundRect(ctx, px, py, pw, ph, 14);
      ctx.fill();
      ctx.fillStyle = color;
      ctx.beginPath();
      ctx.arc(px + 15, py + ph / 2, 4.5, 0, Math.PI * 2);
      ctx.fill();
      ctx.fillStyle = "#fff";
      ctx.textBaseline = "middle";
      ctx.fillText(text, px + 26, py + ph / 2 + 1);
    }
  }
}

function roundRect(ctx, x, y, w, h, r) {
  ctx.beginPath();
  if (typeof ctx.roundRect === "function") {
    ctx.roundRect(x, y, w, h, r);
  } else {
    ctx.rect(x, y, w, h);
  }
}
