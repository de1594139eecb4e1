//! Perspective-n-point for a handful of points: where a camera must be for known 3-D points to
//! appear at given pixels. It is OpenCV's iterative method (`solvePnP` with `SOLVEPNP_ITERATIVE`
//! on non-coplanar points) done again in plain Rust: a direct linear (DLT) start, then
//! Levenberg–Marquardt on the pixel reprojection error with OpenCV's damping schedule and
//! stopping rule. Through OpenCV's C API, six points cost 0.2 ms a frame, nearly all of it
//! allocating, converting and freeing small matrices; the arithmetic is a few microseconds.
//!
//! Why the same method and not a better one: six landmarks against a generic face fit no pose
//! exactly, and on real faces the reprojection error has more than one shallow minimum. A solver
//! started elsewhere (the previous frame's pose, or SQPnP, which minimises another error) settles
//! 1–4° away; every threshold that reads the absolute pose was placed on this method's answers.

use super::{Rotation3, det, dot, mul};

/// A pinhole camera without distortion: focal length and principal point, in pixels.
#[derive(Debug, Clone, Copy)]
pub struct Pinhole {
    pub focal: f64,
    pub cx: f64,
    pub cy: f64,
}

impl Pinhole {
    /// The depth the projection divides by: the point's, or 1 where that is 0, as OpenCV's.
    fn depth(point: &[f64; 3]) -> f64 {
        if point[2] != 0.0 { point[2] } else { 1.0 }
    }

    /// Where a point in camera coordinates lands, minus where it was seen, in pixels.
    fn residual(&self, point: &[f64; 3], seen: &[f64; 2]) -> [f64; 2] {
        let z = Self::depth(point);
        [
            self.focal * point[0] / z + self.cx - seen[0],
            self.focal * point[1] / z + self.cy - seen[1],
        ]
    }
}

/// OpenCV's limits for this solver: 20 iterations, or a step under `FLT_EPSILON` of the
/// parameters' size.
const MAX_ITERATIONS: usize = 20;
const MIN_RELATIVE_STEP: f64 = f32::EPSILON as f64;

/// The rotation taking model coordinates to camera coordinates for the pose that best
/// reprojects `model[i]` onto `pixels[i]`. `None` when the points leave it undetermined (fewer
/// than six, a coordinate that is not a finite number, or a degenerate start).
pub fn solve(model: &[[f64; 3]], pixels: &[[f64; 2]], camera: Pinhole) -> Option<Rotation3> {
    let finite = pixels
        .iter()
        .flatten()
        .chain(model.iter().flatten())
        .all(|v| v.is_finite());
    if model.len() < 6 || model.len() != pixels.len() || !finite {
        return None;
    }
    let (rotation, translation) = direct_linear_start(model, pixels, camera)?;
    let start = rotation_vector(&rotation);
    let params = levenberg_marquardt(
        [
            start[0],
            start[1],
            start[2],
            translation[0],
            translation[1],
            translation[2],
        ],
        model,
        pixels,
        camera,
    );
    Some(rotation_matrix(&[params[0], params[1], params[2]]))
}

/// The projection matrix [R | t] by DLT on normalised image points, its rotation part made
/// orthonormal and the translation scaled to match, as OpenCV starts.
fn direct_linear_start(
    model: &[[f64; 3]],
    pixels: &[[f64; 2]],
    camera: Pinhole,
) -> Option<(Rotation3, [f64; 3])> {
    // Each point gives two rows of L, with L · vec([R | t]) = 0; the solution is the
    // eigenvector of LᵀL with the smallest eigenvalue.
    let mut normal = [[0.0f64; 12]; 12];
    for (m, p) in model.iter().zip(pixels) {
        let x = -(p[0] - camera.cx) / camera.focal;
        let y = -(p[1] - camera.cy) / camera.focal;
        let h = [m[0], m[1], m[2], 1.0];
        let mut rows = [[0.0f64; 12]; 2];
        for k in 0..4 {
            rows[0][k] = h[k];
            rows[0][8 + k] = x * h[k];
            rows[1][4 + k] = h[k];
            rows[1][8 + k] = y * h[k];
        }
        for row in &rows {
            for i in 0..12 {
                for j in 0..12 {
                    normal[i][j] += row[i] * row[j];
                }
            }
        }
    }
    let mut v = smallest_eigenvector(normal);
    let rr = |v: &[f64; 12]| -> Rotation3 {
        std::array::from_fn(|i| [v[4 * i], v[4 * i + 1], v[4 * i + 2]])
    };
    if det(&rr(&v)) < 0.0 {
        v.iter_mut().for_each(|x| *x = -*x);
    }
    let scaled = rr(&v);
    let size = scaled.iter().flatten().map(|x| x * x).sum::<f64>().sqrt();
    if size <= f64::EPSILON {
        return None;
    }
    let rotation = nearest_rotation(&scaled);
    let k = 3f64.sqrt() / size;
    Some((rotation, [v[3] * k, v[7] * k, v[11] * k]))
}

/// OpenCV's `CvLevMarq` on the six pose parameters (rotation vector, translation): damping
/// 10^λ starting at λ = −3, down one after a step that lowered the error, up one (at most to
/// 16) and the step retried when it did not.
fn levenberg_marquardt(
    mut params: [f64; 6],
    model: &[[f64; 3]],
    pixels: &[[f64; 2]],
    camera: Pinhole,
) -> [f64; 6] {
    let mut lambda_lg10 = -3i32;
    let mut previous_error = f64::NAN;
    for iteration in 0..MAX_ITERATIONS {
        let (jtj, jte, error) = normal_equations(&params, model, pixels, camera);
        if iteration == 0 {
            previous_error = error;
        }
        let previous = params;
        let new_error = loop {
            params = damped_step(&previous, &jtj, &jte, lambda_lg10);
            let error = reprojection_error(&params, model, pixels, camera);
            if error > previous_error && lambda_lg10 < 16 {
                lambda_lg10 += 1;
            } else {
                break error;
            }
        };
        lambda_lg10 = (lambda_lg10 - 1).max(-16);
        let step = (0..6)
            .map(|i| (params[i] - previous[i]).powi(2))
            .sum::<f64>()
            .sqrt();
        let size = previous.iter().map(|x| x * x).sum::<f64>().sqrt();
        if step < MIN_RELATIVE_STEP * size {
            break;
        }
        previous_error = new_error;
    }
    params
}

/// `previous − (JᵀJ + 10^λ diag(JᵀJ))⁻¹ Jᵀe`.
fn damped_step(
    previous: &[f64; 6],
    jtj: &[[f64; 6]; 6],
    jte: &[f64; 6],
    lambda_lg10: i32,
) -> [f64; 6] {
    let mut a = *jtj;
    let lambda = 10f64.powi(lambda_lg10);
    for (i, row) in a.iter_mut().enumerate() {
        row[i] *= 1.0 + lambda;
    }
    let delta = solve_spd(a, *jte).unwrap_or([0.0; 6]);
    std::array::from_fn(|i| previous[i] - delta[i])
}

/// JᵀJ, Jᵀe and |e| of the reprojection residuals e (projected minus observed pixels) at
/// `params`, with the rotation's Jacobian in closed form (Gallego and Yezzi, 2015).
fn normal_equations(
    params: &[f64; 6],
    model: &[[f64; 3]],
    pixels: &[[f64; 2]],
    camera: Pinhole,
) -> ([[f64; 6]; 6], [f64; 6], f64) {
    let r = [params[0], params[1], params[2]];
    let rotation = rotation_matrix(&r);
    let d_rotation = rotation_derivatives(&r, &rotation);
    let mut jtj = [[0.0f64; 6]; 6];
    let mut jte = [0.0f64; 6];
    let mut squared = 0.0;
    for (m, p) in model.iter().zip(pixels) {
        let c = camera_point(&rotation, params, m);
        let z = Pinhole::depth(&c);
        let residual = camera.residual(&c, p);
        // d(u, v)/d(camera point), then through the camera point's derivatives.
        let du = [camera.focal / z, 0.0, -camera.focal * c[0] / (z * z)];
        let dv = [0.0, camera.focal / z, -camera.focal * c[1] / (z * z)];
        let mut rows = [[0.0f64; 6]; 2];
        for k in 0..3 {
            let dc = mul(&d_rotation[k], m);
            rows[0][k] = dot(&du, &dc);
            rows[1][k] = dot(&dv, &dc);
        }
        rows[0][3..].copy_from_slice(&du);
        rows[1][3..].copy_from_slice(&dv);
        for (row, e) in rows.iter().zip(residual) {
            for i in 0..6 {
                jte[i] += row[i] * e;
                for j in 0..6 {
                    jtj[i][j] += row[i] * row[j];
                }
            }
            squared += e * e;
        }
    }
    (jtj, jte, squared.sqrt())
}

fn reprojection_error(
    params: &[f64; 6],
    model: &[[f64; 3]],
    pixels: &[[f64; 2]],
    camera: Pinhole,
) -> f64 {
    let rotation = rotation_matrix(&[params[0], params[1], params[2]]);
    model
        .iter()
        .zip(pixels)
        .map(|(m, p)| {
            let e = camera.residual(&camera_point(&rotation, params, m), p);
            e[0] * e[0] + e[1] * e[1]
        })
        .sum::<f64>()
        .sqrt()
}

fn camera_point(rotation: &Rotation3, params: &[f64; 6], m: &[f64; 3]) -> [f64; 3] {
    let c = mul(rotation, m);
    [c[0] + params[3], c[1] + params[4], c[2] + params[5]]
}

/// Rodrigues: the rotation by |r| about r.
fn rotation_matrix(r: &[f64; 3]) -> Rotation3 {
    let theta = dot(r, r).sqrt();
    if theta < f64::EPSILON {
        return IDENTITY;
    }
    let k = [r[0] / theta, r[1] / theta, r[2] / theta];
    let (s, c) = theta.sin_cos();
    let kx = skew(&k);
    std::array::from_fn(|i| {
        std::array::from_fn(|j| {
            let identity = if i == j { c } else { 0.0 };
            identity + (1.0 - c) * k[i] * k[j] + s * kx[i][j]
        })
    })
}

/// ∂R/∂rₖ for R = rotation_matrix(r): (rₖ[r]× + [r × (I − R)eₖ]×) R / |r|², and [eₖ]× at r = 0.
fn rotation_derivatives(r: &[f64; 3], rotation: &Rotation3) -> [Rotation3; 3] {
    let squared = dot(r, r);
    std::array::from_fn(|k| {
        let mut e = [0.0; 3];
        e[k] = 1.0;
        if squared < 1e-20 {
            return skew(&e);
        }
        let column = [
            e[0] - rotation[0][k],
            e[1] - rotation[1][k],
            e[2] - rotation[2][k],
        ];
        let a = skew(r);
        let b = skew(&cross(r, &column));
        let m: Rotation3 =
            std::array::from_fn(|i| std::array::from_fn(|j| (r[k] * a[i][j] + b[i][j]) / squared));
        matmul(&m, rotation)
    })
}

/// The inverse of [`rotation_matrix`] for a rotation matrix.
fn rotation_vector(rotation: &Rotation3) -> [f64; 3] {
    let axis = [
        rotation[2][1] - rotation[1][2],
        rotation[0][2] - rotation[2][0],
        rotation[1][0] - rotation[0][1],
    ];
    let s = dot(&axis, &axis).sqrt() / 2.0;
    let c = ((rotation[0][0] + rotation[1][1] + rotation[2][2] - 1.0) / 2.0).clamp(-1.0, 1.0);
    let theta = s.atan2(c);
    if s < 1e-5 && c < 0.0 {
        // Half a turn: the axis from the diagonal, its signs from the off-diagonal.
        let half = |i: usize| ((rotation[i][i] + 1.0) / 2.0).max(0.0).sqrt();
        let mut k = [half(0), half(1), half(2)];
        if rotation[0][1] < 0.0 {
            k[1] = -k[1];
        }
        if rotation[0][2] < 0.0 {
            k[2] = -k[2];
        }
        return [k[0] * theta, k[1] * theta, k[2] * theta];
    }
    if s < 1e-12 {
        return [0.0; 3];
    }
    let scale = theta / (2.0 * s);
    [axis[0] * scale, axis[1] * scale, axis[2] * scale]
}

/// The rotation nearest to `m` (U Vᵀ of m = U S Vᵀ).
fn nearest_rotation(m: &Rotation3) -> Rotation3 {
    // U Vᵀ = m (mᵀm)^(-1/2), by the eigenvectors of the symmetric mᵀm.
    let mtm: Rotation3 =
        std::array::from_fn(|i| std::array::from_fn(|j| (0..3).map(|k| m[k][i] * m[k][j]).sum()));
    let (values, vectors) = symmetric_eigen(mtm);
    let inverse_root: Rotation3 = std::array::from_fn(|i| {
        std::array::from_fn(|j| {
            (0..3)
                .map(|k| vectors[i][k] * vectors[j][k] / values[k].max(1e-300).sqrt())
                .sum()
        })
    });
    matmul(m, &inverse_root)
}

/// The unit eigenvector of a symmetric matrix with the smallest eigenvalue.
fn smallest_eigenvector<const N: usize>(a: [[f64; N]; N]) -> [f64; N] {
    let (values, vectors) = symmetric_eigen(a);
    let k = (0..N)
        .min_by(|&i, &j| values[i].total_cmp(&values[j]))
        .unwrap_or(0);
    std::array::from_fn(|i| vectors[i][k])
}

/// Eigenvalues and eigenvectors (as columns) of a symmetric matrix, by cyclic Jacobi rotations:
/// exact to rounding for the small, ill-scaled matrices here, where the smallest eigenvalue is
/// many orders below the largest.
fn symmetric_eigen<const N: usize>(mut a: [[f64; N]; N]) -> ([f64; N], [[f64; N]; N]) {
    let mut v = [[0.0f64; N]; N];
    for (i, row) in v.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    for _sweep in 0..64 {
        let off: f64 = (0..N)
            .flat_map(|i| (i + 1..N).map(move |j| (i, j)))
            .map(|(i, j)| a[i][j] * a[i][j])
            .sum();
        if off == 0.0 {
            break;
        }
        for p in 0..N {
            for q in p + 1..N {
                // Negligible against its diagonal (the relative-accuracy test of Demmel and
                // Veselić): the smallest eigenvalue keeps its own digits, not the largest's.
                if a[p][q] * a[p][q] <= f64::EPSILON * f64::EPSILON * (a[p][p] * a[q][q]).abs() {
                    a[p][q] = 0.0;
                    a[q][p] = 0.0;
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                // A ← Jᵀ A J and V ← V J, J the rotation by (c, s) in the (p, q) plane.
                let rotate = |x: &mut f64, y: &mut f64| {
                    let (xp, yq) = (*x, *y);
                    *x = c * xp - s * yq;
                    *y = s * xp + c * yq;
                };
                for row in a.iter_mut().chain(v.iter_mut()) {
                    let (mut x, mut y) = (row[p], row[q]);
                    rotate(&mut x, &mut y);
                    (row[p], row[q]) = (x, y);
                }
                let (above, below) = a.split_at_mut(q);
                for (x, y) in above[p].iter_mut().zip(below[0].iter_mut()) {
                    rotate(x, y);
                }
            }
        }
    }
    (std::array::from_fn(|i| a[i][i]), v)
}

/// Solves A x = b for a symmetric positive definite A (Cholesky).
fn solve_spd<const N: usize>(a: [[f64; N]; N], b: [f64; N]) -> Option<[f64; N]> {
    let mut l = [[0.0f64; N]; N];
    for i in 0..N {
        for j in 0..=i {
            let sum = a[i][j] - (0..j).map(|k| l[i][k] * l[j][k]).sum::<f64>();
            if i == j {
                if sum <= 0.0 {
                    return None;
                }
                l[i][i] = sum.sqrt();
            } else {
                l[i][j] = sum / l[j][j];
            }
        }
    }
    let mut y = [0.0f64; N];
    for i in 0..N {
        y[i] = (b[i] - (0..i).map(|k| l[i][k] * y[k]).sum::<f64>()) / l[i][i];
    }
    let mut x = [0.0f64; N];
    for i in (0..N).rev() {
        x[i] = (y[i] - (i + 1..N).map(|k| l[k][i] * x[k]).sum::<f64>()) / l[i][i];
    }
    Some(x)
}

const IDENTITY: Rotation3 = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];

fn cross(a: &[f64; 3], b: &[f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn skew(v: &[f64; 3]) -> Rotation3 {
    [[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]]
}

fn matmul(a: &Rotation3, b: &Rotation3) -> Rotation3 {
    std::array::from_fn(|i| std::array::from_fn(|j| (0..3).map(|k| a[i][k] * b[k][j]).sum()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The six points of the generic face the head pose uses, in mm.
    const FACE: [[f64; 3]; 6] = [
        [0.0, 0.0, 0.0],
        [0.0, 63.6, 12.5],
        [-43.3, -32.7, 26.0],
        [43.3, -32.7, 26.0],
        [-28.9, 28.9, 24.1],
        [28.9, 28.9, 24.1],
    ];

    const CAMERA: Pinhole = Pinhole {
        focal: 640.0,
        cx: 320.0,
        cy: 240.0,
    };

    fn project(rotation: &Rotation3, t: [f64; 3]) -> Vec<[f64; 2]> {
        FACE.iter()
            .map(|m| {
                let c = camera_point(rotation, &[0.0, 0.0, 0.0, t[0], t[1], t[2]], m);
                [
                    CAMERA.focal * c[0] / c[2] + CAMERA.cx,
                    CAMERA.focal * c[1] / c[2] + CAMERA.cy,
                ]
            })
            .collect()
    }

    #[test]
    fn a_pose_the_points_fit_exactly_is_recovered() {
        for r in [
            [0.0, 0.0, 0.0],
            [0.05, 0.35, -0.02],
            [-0.2, -0.4, 0.1],
            [0.3, 0.1, 0.25],
        ] {
            let truth = rotation_matrix(&r);
            let pixels = project(&truth, [15.0, -20.0, 550.0]);
            let got = solve(&FACE, &pixels, CAMERA).expect("a pose");
            for i in 0..3 {
                for j in 0..3 {
                    assert!((got[i][j] - truth[i][j]).abs() < 1e-7, "{r:?}: {got:?}");
                }
            }
        }
    }

    #[test]
    fn rotation_vector_and_matrix_are_inverse() {
        for r in [
            [0.0, 0.0, 0.0],
            [1e-9, 0.0, 0.0],
            [0.3, -0.2, 0.1],
            [0.0, 3.0, 0.1],
        ] {
            let back = rotation_vector(&rotation_matrix(&r));
            for i in 0..3 {
                assert!((back[i] - r[i]).abs() < 1e-9, "{r:?} -> {back:?}");
            }
        }
    }

    #[test]
    fn the_rotation_jacobian_matches_finite_differences() {
        let r = [0.3, -0.5, 0.2];
        let derivatives = rotation_derivatives(&r, &rotation_matrix(&r));
        for (k, derivative) in derivatives.iter().enumerate() {
            let h = 1e-6;
            let (mut plus, mut minus) = (r, r);
            plus[k] += h;
            minus[k] -= h;
            let (a, b) = (rotation_matrix(&plus), rotation_matrix(&minus));
            for i in 0..3 {
                for j in 0..3 {
                    let numeric = (a[i][j] - b[i][j]) / (2.0 * h);
                    assert!(
                        (numeric - derivative[i][j]).abs() < 1e-8,
                        "∂R/∂r{k}[{i}][{j}]"
                    );
                }
            }
        }
    }

    #[test]
    fn too_few_points_or_points_off_the_number_line_give_no_pose() {
        let mut pixels = project(&IDENTITY, [0.0, 0.0, 500.0]);
        assert!(solve(&FACE[..5], &pixels[..5], CAMERA).is_none());
        assert!(solve(&FACE, &pixels[..5], CAMERA).is_none());
        pixels[2][1] = f64::NAN;
        assert!(solve(&FACE, &pixels, CAMERA).is_none());
    }
}
