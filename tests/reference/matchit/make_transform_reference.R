# Mahalanobis covariate transform of MatchIt (transform_covariates) on lalonde, written
# bit-exactly (C99 hex floats, sprintf("%a")), for tests/test_mahalanobis_r_numerics.py.
# Run from the repository root with a library holding MatchIt >= 4.5.4:
#   R_LIBS=/path/to/lib Rscript tests/reference/matchit/make_transform_reference.R
library(MatchIt)
data("lalonde", package = "MatchIt")
out <- "tests/reference/matchit"
hexw <- function(m, f) write.table(matrix(sprintf("%a", m), nrow = NROW(m)), file.path(out, f),
                                   row.names = FALSE, col.names = FALSE, quote = FALSE)
specs <- list(mahvars = ~ age + educ + re74 + re75,
              full = ~ age + educ + race + married + nodegree + re74 + re75)
for (id in names(specs)) {
  X <- MatchIt:::transform_covariates(specs[[id]], data = lalonde, method = "mahalanobis",
                                      treat = lalonde$treat, discarded = rep(FALSE, nrow(lalonde)))
  hexw(X, sprintf("transform_%s.txt", id))
}
writeLines(c(paste("R", R.version$major, R.version$minor), paste("MatchIt", packageVersion("MatchIt")),
             paste("BLAS", extSoftVersion()["BLAS"]), paste("LAPACK", La_library())),
           file.path(out, "transform_versions.txt"))
