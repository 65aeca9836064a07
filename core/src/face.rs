//! Face boxes: as callers give them (pixels or relative), clamped to the image, and the crop
//! region the model sees (square, with a margin, possibly reaching past the image edge).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A face box as a caller gives it: in source-image pixels, or relative to the image size
/// when all four values lie in `[0, 1]` and at least one has a fraction (MediaPipe's form).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaceBox {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

/// A box in whole pixels, inside the image: the face region actually used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PixelBox {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

impl PixelBox {
    /// The whole image.
    pub fn full(width: u32, height: u32) -> PixelBox {
        PixelBox {
            x: 0,
            y: 0,
            width,
            height,
        }
    }

    pub fn area(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }

    /// Intersection over union with `other`, in `[0, 1]`.
    #[allow(clippy::cast_precision_loss)]
    pub fn iou(&self, other: &PixelBox) -> f32 {
        let overlap = |a: u32, a_len: u32, b: u32, b_len: u32| {
            u64::from((a + a_len).min(b + b_len).saturating_sub(a.max(b)))
        };
        let inter = overlap(self.x, self.width, other.x, other.width)
            * overlap(self.y, self.height, other.y, other.height);
        let union = self.area() + other.area() - inter;
        if union == 0 {
            0.0
        } else {
            inter as f32 / union as f32
        }
    }

    /// The centre, in pixels.
    pub fn centre(&self) -> (f32, f32) {
        #[allow(clippy::cast_precision_loss)]
        let at = |start: u32, len: u32| start as f32 + len as f32 / 2.0;
        (at(self.x, self.width), at(self.y, self.height))
    }
}

impl FaceBox {
    /// Whether the box is relative to the image size rather than in pixels.
    pub fn is_relative(&self) -> bool {
        let values = [self.x, self.y, self.width, self.height];
        values.iter().all(|v| (0.0..=1.0).contains(v)) && values.iter().any(|v| v.fract() != 0.0)
    }

    /// The box in pixels, clamped to a `width`×`height` image. A box that is not finite, has no
    /// area, or lies wholly outside the image is refused: there is no face to classify there.
    pub fn resolve(&self, width: u32, height: u32) -> Result<PixelBox> {
        let values = [self.x, self.y, self.width, self.height];
        if values.iter().any(|v| !v.is_finite()) {
            return Err(Error::InvalidFaceBounds(
                "every value must be a finite number".into(),
            ));
        }
        if self.width <= 0.0 || self.height <= 0.0 {
            return Err(Error::InvalidFaceBounds(format!(
                "width and height must be positive, got {}x{}",
                self.width, self.height
            )));
        }
        let (sx, sy) = if self.is_relative() {
            (f64::from(width), f64::from(height))
        } else {
            (1.0, 1.0)
        };
        let x0 = (self.x * sx).round().max(0.0);
        let y0 = (self.y * sy).round().max(0.0);
        let x1 = ((self.x + self.width) * sx).round().min(f64::from(width));
        let y1 = ((self.y + self.height) * sy).round().min(f64::from(height));
        if x1 - x0 < 1.0 || y1 - y0 < 1.0 {
            return Err(Error::InvalidFaceBounds(format!(
                "the box (x {}, y {}, width {}, height {}) lies outside the {width}x{height} image",
                self.x, self.y, self.width, self.height
            )));
        }
        // In range by the clamps above: 0 <= x0 < x1 <= width.
        Ok(PixelBox {
            x: x0 as u32,
            y: y0 as u32,
            width: (x1 - x0) as u32,
            height: (y1 - y0) as u32,
        })
    }
}

/// The rectangle of source pixels that becomes the model input. It may reach past the image:
/// those pixels repeat the nearest edge pixel, as fer pads its crops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CropRegion {
    pub x: i64,
    pub y: i64,
    pub width: u32,
    pub height: u32,
}

impl CropRegion {
    /// A square around the face, widened by `margin` of its side on every side (fer's crop rule).
    pub fn around_face(face: &PixelBox, margin: f32) -> CropRegion {
        let side = f64::from(face.width.max(face.height));
        let pad = (side * f64::from(margin)).round();
        let cx = f64::from(face.x) + f64::from(face.width) / 2.0;
        let cy = f64::from(face.y) + f64::from(face.height) / 2.0;
        let full = side + 2.0 * pad;
        CropRegion {
            x: (cx - full / 2.0).round() as i64,
            y: (cy - full / 2.0).round() as i64,
            width: full as u32,
            height: full as u32,
        }
    }

    /// The whole image, as it is: it may already be a face crop.
    pub fn whole(width: u32, height: u32) -> CropRegion {
        CropRegion {
            x: 0,
            y: 0,
            width,
            height,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fb(x: f64, y: f64, width: f64, height: f64) -> FaceBox {
        FaceBox {
            x,
            y,
            width,
            height,
        }
    }

    #[test]
    fn pixel_boxes_are_clamped_to_the_image() {
        let b = fb(-10.0, 20.0, 50.0, 500.0).resolve(100, 100).unwrap();
        assert_eq!(
            b,
            PixelBox {
                x: 0,
                y: 20,
                width: 40,
                height: 80
            }
        );
    }

    #[test]
    fn fractional_boxes_are_relative() {
        let f = fb(0.25, 0.5, 0.5, 0.25);
        assert!(f.is_relative());
        assert_eq!(
            f.resolve(200, 100).unwrap(),
            PixelBox {
                x: 50,
                y: 50,
                width: 100,
                height: 25
            }
        );
        // Whole numbers in [0, 1] are pixels: a 1x1 box at the origin.
        assert!(!fb(0.0, 0.0, 1.0, 1.0).is_relative());
    }

    #[test]
    fn unusable_boxes_are_refused_with_a_reason() {
        let cases = [
            (fb(0.0, 0.0, 0.0, 10.0), "positive"),
            (fb(0.0, 0.0, -5.0, 10.0), "positive"),
            (fb(200.0, 10.0, 20.0, 20.0), "outside"),
            (fb(-50.0, -50.0, 40.0, 40.0), "outside"),
            (fb(f64::NAN, 0.0, 1.0, 1.0), "finite"),
        ];
        for (face, word) in cases {
            match face.resolve(100, 100) {
                Err(Error::InvalidFaceBounds(m)) => assert!(m.contains(word), "{m}"),
                other => panic!("{face:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn crop_is_a_square_with_margin_around_the_face_centre() {
        let face = PixelBox {
            x: 100,
            y: 50,
            width: 80,
            height: 100,
        };
        let r = CropRegion::around_face(&face, 0.1);
        assert_eq!((r.width, r.height), (120, 120));
        assert_eq!((r.x, r.y), (80, 40));
    }
}
