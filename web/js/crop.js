// Face crops: a square around the face box (10% margin a side), 128x128, JPEG, base64.
const SIZE = 128;
const QUALITY = 0.85;
const MARGIN = 0.1;

/**
 * The face's box inside every crop, relative to the crop: the server then runs no face detector
 * of its own on it, and its crop around this box (with its own 10% margin) is the whole crop.
 */
export const CROP_FACE_BOUNDS = Object.freeze({
  x: MARGIN / (1 + 2 * MARGIN),
  y: MARGIN / (1 + 2 * MARGIN),
  width: 1 / (1 + 2 * MARGIN),
  height: 1 / (1 + 2 * MARGIN),
});

/**
 * Draws the crop of `source` (a video, VideoFrame, image or canvas of `width` x `height` pixels)
 * around `box` (relative: x, y top-left, width, height) onto the `size` x `size` canvas of `ctx`.
 * Past the frame's edge the edge pixels repeat, as in the server's own crop.
 */
export function drawCrop(ctx, source, width, height, box, size = SIZE) {
  const side = Math.max(box.width * width, box.height * height) * (1 + 2 * MARGIN);
  const cx = (box.x + box.width / 2) * width;
  const cy = (box.y + box.height / 2) * height;
  const sx = cx - side / 2;
  const sy = cy - side / 2;
  const k = size / side;

  // The part of the square inside the frame.
  const ix0 = Math.max(0, sx);
  const iy0 = Math.max(0, sy);
  const ix1 = Math.min(width, sx + side);
  const iy1 = Math.min(height, sy + side);
  if (!(ix1 - ix0 >= 1 && iy1 - iy0 >= 1)) throw new Error("the face box lies outside the frame");
  const dx0 = Math.round((ix0 - sx) * k);
  const dy0 = Math.round((iy0 - sy) * k);
  const dx1 = Math.max(dx0 + 1, Math.round((ix1 - sx) * k));
  const dy1 = Math.max(dy0 + 1, Math.round((iy1 - sy) * k));
  ctx.drawImage(source, ix0, iy0, ix1 - ix0, iy1 - iy0, dx0, dy0, dx1 - dx0, dy1 - dy0);

  // Edge padding: stretch the outermost row or column over the part outside the frame.
  const c = ctx.canvas;
  if (dx0 > 0) ctx.drawImage(c, dx0, dy0, 1, dy1 - dy0, 0, dy0, dx0, dy1 - dy0);
  if (dx1 < size) ctx.drawImage(c, dx1 - 1, dy0, 1, dy1 - dy0, dx1, dy0, size - dx1, dy1 - dy0);
  if (dy0 > 0) ctx.drawImage(c, 0, dy0, size, 1, 0, 0, size, dy0);
  if (dy1 < size) ctx.drawImage(c, 0, dy1 - 1, size, 1, 0, dy1, size, size - dy1);
}

/**
 * In the page: a canvas and the synchronous toDataURL, which takes well under a millisecond at
 * 128x128, where toBlob waits for an idle main thread that a busy detector rarely leaves.
 */
export class PageCropEncoder {
  constructor(size = SIZE, quality = QUALITY) {
    this.size = size;
    this.quality = quality;
    const canvas = document.createElement("canvas");
    canvas.width = size;
    canvas.height = size;
    this.ctx = canvas.getContext("2d", { alpha: false });
    this.ctx.imageSmoothingQuality = "high";
  }

  /** Base64 JPEG (no data: prefix) of the face crop. */
  encode(source, width, height, box) {
    drawCrop(this.ctx, source, width, height, box, this.size);
    const url = this.ctx.canvas.toDataURL("image/jpeg", this.quality);
    return url.slice(url.indexOf(",") + 1);
  }
}

/**
 * In a worker: crops camera VideoFrames. The pixels are read with VideoFrame.copyTo (only the
 * face's rectangle) and scaled here, because drawImage of a camera frame waits on the GPU
 * process, which a busy detector keeps busy (about 200 ms a frame in headless Chromium with
 * software WebGL against about 1 ms this way). Then an OffscreenCanvas encodes the JPEG.
 */
export class WorkerCropEncoder {
  constructor(size = SIZE, quality = QUALITY) {
    this.size = size;
    this.quality = quality;
    this.ctx = new OffscreenCanvas(size, size).getContext("2d", { alpha: false, willReadFrequently: true });
    this.ctx.imageSmoothingQuality = "high";
    this.image = new ImageData(size, size);
    this.buffer = new Uint8Array(0);
  }

  /** Base64 JPEG (no data: prefix) of the face crop of `frame` (a VideoFrame). */
  async encode(frame, box) {
    const copied = YUV_FORMATS.has(frame.format) || RGB_FORMATS.has(frame.format);
    if (!copied || !(await this.copyCrop(frame, box))) {
      drawCrop(this.ctx, frame, frame.displayWidth, frame.displayHeight, box, this.size);
    }
    const blob = await this.ctx.canvas.convertToBlob({ type: "image/jpeg", quality: this.quality });
    const url = new FileReaderSync().readAsDataURL(blob);
    return url.slice(url.indexOf(",") + 1);
  }

  /** Crops through copyTo into the canvas; false when the frame cannot be read that way. */
  async copyCrop(frame, box) {
    const size = this.size;
    const vr = frame.visibleRect;
    const width = vr.width;
    const height = vr.height;
    const side = Math.max(box.width * width, box.height * height) * (1 + 2 * MARGIN);
    const sx = (box.x + box.width / 2) * width - side / 2;
    const sy = (box.y + box.height / 2) * height - side / 2;
    // The rectangle to copy: the square clipped to the frame, on even pixels for 4:2:0.
    let x0 = Math.max(0, Math.floor(sx));
    let y0 = Math.max(0, Math.floor(sy));
    let x1 = Math.min(width, Math.ceil(sx + side));
    let y1 = Math.min(height, Math.ceil(sy + side));
    x0 -= x0 % 2;
    y0 -= y0 % 2;
    x1 = Math.min(width - (width % 2), x1 + (x1 % 2));
    y1 = Math.min(height - (height % 2), y1 + (y1 % 2));
    if (x1 - x0 < 2 || y1 - y0 < 2) throw new Error("the face box lies outside the frame");
    const rect = { x: vr.x + x0, y: vr.y + y0, width: x1 - x0, height: y1 - y0 };
    let layout;
    try {
      const bytes = frame.allocationSize({ rect });
      if (this.buffer.length < bytes) this.buffer = new Uint8Array(bytes);
      layout = await frame.copyTo(this.buffer, { rect });
    } catch {
      return false;
    }
    const rw = rect.width;
    const rh = rect.height;
    const src = this.buffer;
    const out = this.image.data;
    const k = side / size; // source pixels per crop pixel
    const fmt = frame.format;
    const full = frame.colorSpace?.fullRange === true;
    const bt709 = frame.colorSpace?.matrix === "bt709";
    // YCbCr -> RGB coefficients.
    const [cr, cgu, cgv, cb] = bt709 ? [1.5748, 0.1873, 0.4681, 1.8556] : [1.402, 0.3441, 0.7141, 1.772];
    const ys = full ? 1 : 255 / 219;
    const cs = full ? 1 : 255 / 224;
    const y0p = layout[0];
    let i = 0;
    for (let dy = 0; dy < size; dy += 1) {
      // Source row, clamped: past the edge the edge pixels repeat.
      const fy = Math.min(rh - 1, Math.max(0, sy + (dy + 0.5) * k - 0.5 - y0));
      const ya = Math.floor(fy);
      const yb = Math.min(rh - 1, ya + 1);
      const wy = fy - ya;
      for (let dx = 0; dx < size; dx += 1) {
        const fx = Math.min(rw - 1, Math.max(0, sx + (dx + 0.5) * k - 0.5 - x0));
        const xa = Math.floor(fx);
        const xb = Math.min(rw - 1, xa + 1);
        const wx = fx - xa;
        let r;
        let g;
        let b;
        if (YUV_FORMATS.has(fmt)) {
          const o = y0p.offset;
          const st = y0p.stride;
          const top = src[o + ya * st + xa] * (1 - wx) + src[o + ya * st + xb] * wx;
          const bottom = src[o + yb * st + xa] * (1 - wx) + src[o + yb * st + xb] * wx;
          const yv = ((top * (1 - wy) + bottom * wy) - (full ? 0 : 16)) * ys;
          const cx = Math.round(fx) >> 1;
          const cyy = Math.round(fy) >> 1;
          let u;
          let v;
          if (fmt === "NV12") {
            const p = layout[1];
            const at = p.offset + cyy * p.stride + cx * 2;
            u = src[at];
            v = src[at + 1];
          } else {
            const pu = layout[1];
            const pv = layout[2];
            u = src[pu.offset + cyy * pu.stride + cx];
            v = src[pv.offset + cyy * pv.stride + cx];
          }
          u = (u - 128) * cs;
          v = (v - 128) * cs;
          r = yv + cr * v;
          g = yv - cgu * u - cgv * v;
          b = yv + cb * u;
        } else {
          const p = layout[0];
          const a00 = p.offset + ya * p.stride + xa * 4;
          const a01 = p.offset + ya * p.stride + xb * 4;
          const a10 = p.offset + yb * p.stride + xa * 4;
          const a11 = p.offset + yb * p.stride + xb * 4;
          const mix = (c) =>
            (src[a00 + c] * (1 - wx) + src[a01 + c] * wx) * (1 - wy) +
            (src[a10 + c] * (1 - wx) + src[a11 + c] * wx) * wy;
          const bgr = fmt === "BGRA" || fmt === "BGRX";
          r = mix(bgr ? 2 : 0);
          g = mix(1);
          b = mix(bgr ? 0 : 2);
        }
        out[i] = r;
        out[i + 1] = g;
        out[i + 2] = b;
        out[i + 3] = 255;
        i += 4;
      }
    }
    this.ctx.putImageData(this.image, 0, 0);
    return true;
  }
}

const YUV_FORMATS = new Set(["I420", "I420A", "NV12"]);
const RGB_FORMATS = new Set(["RGBA", "RGBX", "BGRA", "BGRX"]);
