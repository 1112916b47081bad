//! Placing text labels beside points without overlaps.

use super::{SMALL, text_w};

/// A rectangle in pixels, for label placement.
#[derive(Clone, Copy, Debug)]
pub struct Boxr {
    pub x0: i32,
    pub y0: i32,
    pub x1: i32,
    pub y1: i32,
}

impl Boxr {
    fn overlap(&self, o: &Boxr) -> i32 {
        let w = (self.x1.min(o.x1) - self.x0.max(o.x0)).max(0);
        let h = (self.y1.min(o.y1) - self.y0.max(o.y0)).max(0);
        w * h
    }
}

/// Places text labels next to points (pixel coordinates) without overlapping each other or
/// the points, staying inside `bounds`. Returns, per label, the offset of its left-centre
/// anchor from its point.
pub fn place_labels(
    points: &[(i32, i32)],
    labels: &[String],
    obstacles: &[(i32, i32)],
    bounds: Boxr,
) -> Vec<(i32, i32)> {
    let h = 18;
    let mut taken: Vec<Boxr> = points
        .iter()
        .chain(obstacles)
        .map(|&(x, y)| Boxr {
            x0: x - 6,
            y0: y - 6,
            x1: x + 6,
            y1: y + 6,
        })
        .collect();
    let mut out = Vec::new();
    for (i, (&(px, py), label)) in points.iter().zip(labels).enumerate() {
        let w = text_w(label, SMALL) + 4;
        let mut cands: Vec<(i32, i32)> = vec![
            (10, 0),
            (-10 - w, 0),
            (8, -16),
            (8, 16),
            (-w - 8, -16),
            (-w - 8, 16),
            (-w / 2, -20),
            (-w / 2, 20),
        ];
        for k in 2..8 {
            cands.push((10, -18 * k));
            cands.push((10, 18 * k));
            cands.push((-10 - w, -18 * k));
            cands.push((-10 - w, 18 * k));
        }
        // Last resort for a label too long for either side: above or below the point,
        // shifted to lie inside the bounds.
        let inside = (-w / 2).min(bounds.x1 - w - px).max(bounds.x0 - px);
        for k in 1..8 {
            cands.push((inside, -18 * k - 4));
            cands.push((inside, 18 * k + 4));
        }
        let mut best = (i64::MAX, cands[0]);
        for (rank, &(dx, dy)) in cands.iter().enumerate() {
            let b = Boxr {
                x0: px + dx,
                y0: py + dy - h / 2,
                x1: px + dx + w,
                y1: py + dy + h / 2,
            };
            let outside = (bounds.x0 - b.x0).max(0)
                + (b.x1 - bounds.x1).max(0)
                + (bounds.y0 - b.y0).max(0)
                + (b.y1 - bounds.y1).max(0);
            let clash: i32 = taken
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, t)| t.overlap(&b))
                .sum();
            let cost = (clash as i64 + outside as i64 * 1000) * 100 + rank as i64;
            if cost < best.0 {
                best = (cost, (dx, dy));
            }
            if clash == 0 && outside == 0 {
                break;
            }
        }
        let (dx, dy) = best.1;
        taken.push(Boxr {
            x0: px + dx,
            y0: py + dy - h / 2,
            x1: px + dx + w,
            y1: py + dy + h / 2,
        });
        out.push((dx, dy));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A label too long for either side of its point lies above or below it, inside the
    /// bounds (it was drawn past the plot's right edge).
    #[test]
    fn a_long_label_stays_inside_the_bounds() {
        let bounds = Boxr {
            x0: 0,
            y0: 0,
            x1: 450,
            y1: 300,
        };
        let label = "max_tokens=4,000, completion_window=30s and 2 more at this spot".to_string();
        let w = text_w(&label, SMALL) + 4;
        assert!(w > 300 && w < 450, "{w}");
        let (px, py) = (280, 150);
        let (dx, dy) = place_labels(&[(px, py)], std::slice::from_ref(&label), &[], bounds)[0];
        assert!(px + dx >= 0 && px + dx + w <= 450, "{dx} {w}");
        assert!(dy != 0 && (py + dy - 9) >= 0 && py + dy + 9 <= 300, "{dy}");
        // A short label keeps its place to the right of the point.
        let short = place_labels(&[(px, py)], &["a".to_string()], &[], bounds);
        assert_eq!(short, [(10, 0)]);
    }
}
