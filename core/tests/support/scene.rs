//! Synthetic scenes for the stream tests of every crate: real faces cut from the committed
//! photos, placed at known places on a plain background, frame after frame.

// Shared by several test crates through `#[path]`: none uses every helper.
#![allow(dead_code, clippy::unwrap_used)]

use image::{Rgb, RgbImage};

/// The face `[x, y, width, height]` of an encoded photo with `margin` of its side around it,
/// cut out as RGB.
pub fn face_cut(photo: &[u8], face: [f64; 4], margin: f64) -> RgbImage {
    let image = image::load_from_memory(photo).unwrap().into_rgb8();
    let [fx, fy, fw, fh] = face;
    let (dx, dy) = (fw * margin, fh * margin);
    let x = (fx - dx).max(0.0) as u32;
    let y = (fy - dy).max(0.0) as u32;
    let width = ((fw + 2.0 * dx) as u32).min(image.width() - x);
    let height = ((fh + 2.0 * dy) as u32).min(image.height() - y);
    image::imageops::crop_imm(&image, x, y, width, height).to_image()
}

/// `image` scaled to `width`×`height`.
pub fn scaled(image: &RgbImage, width: u32, height: u32) -> RgbImage {
    image::imageops::resize(image, width, height, image::imageops::FilterType::Triangle)
}

/// A grey `width`×`height` scene with each cut placed at its top-left corner.
pub fn compose(width: u32, height: u32, placed: &[(&RgbImage, i64, i64)]) -> RgbImage {
    let mut canvas = RgbImage::from_pixel(width, height, Rgb([128, 128, 128]));
    for (cut, x, y) in placed {
        image::imageops::overlay(&mut canvas, *cut, *x, *y);
    }
    canvas
}

/// The scene as a JPEG, as a camera or a browser would send it.
pub fn jpeg(image: &RgbImage) -> Vec<u8> {
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 90)
        .encode_image(image)
        .unwrap();
    bytes
}

/// `image` turned by `degrees` (counter-clockwise) about its centre, on the same canvas; what
/// comes from outside it is grey.
pub fn rotated(image: &RgbImage, degrees: f32) -> RgbImage {
    let (w, h) = image.dimensions();
    let (sin, cos) = degrees.to_radians().sin_cos();
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    RgbImage::from_fn(w, h, |x, y| {
        // The source pixel that lands here: the inverse rotation, nearest neighbour.
        let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
        let sx = cos * dx - sin * dy + cx;
        let sy = sin * dx + cos * dy + cy;
        if sx >= 0.0 && sy >= 0.0 && (sx as u32) < w && (sy as u32) < h {
            *image.get_pixel(sx as u32, sy as u32)
        } else {
            Rgb([128, 128, 128])
        }
    })
}
