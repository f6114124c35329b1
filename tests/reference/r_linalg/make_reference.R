# solve() and chol(pivot = TRUE) on random symmetric positive (semi)definite matrices,
# written bit-exactly (C99 hex floats) for tests/test_mahalanobis_r_numerics.py.
# R 4.2.2 with Debian's reference BLAS/LAPACK 3.11 (see versions.txt).
# Run from the repository root: Rscript tests/reference/r_linalg/make_reference.R
set.seed(7)
out <- "tests/reference/r_linalg"
hexw <- function(m, f) write.table(matrix(sprintf("%a", m), nrow = NROW(m)), file.path(out, f),
                                   row.names = FALSE, col.names = FALSE, quote = FALSE)
for (k in 1:6) {
  p <- c(3, 5, 6, 9, 12, 17)[k]
  A <- matrix(rnorm(p * (p + 20)), ncol = p)
  A[, p] <- A[, 1] * 0.5 + A[, 2] * 1e-3 + A[, p] * 1e-4  # nearly collinear column
  V <- crossprod(A) / 50
  hexw(V, sprintf("v_%d.txt", k))
  hexw(solve(V), sprintf("solve_%d.txt", k))
  ch <- suppressWarnings(chol(V, pivot = TRUE))
  hexw(ch, sprintf("chol_%d.txt", k))
  hexw(attr(ch, "pivot") - 1, sprintf("pivot_%d.txt", k))
}
A <- matrix(rnorm(40), ncol = 4)
V <- crossprod(cbind(A, A[, 1] + A[, 2]))  # rank 4 of 5
hexw(V, "v_7.txt")
ch <- suppressWarnings(chol(V, pivot = TRUE))
hexw(ch, "chol_7.txt")
hexw(attr(ch, "pivot") - 1, "pivot_7.txt")
writeLines(c(paste("R", R.version$major, R.version$minor), paste("BLAS", extSoftVersion()["BLAS"]),
             paste("LAPACK", La_library())), file.path(out, "versions.txt"))
