# m.order = "closest" with a covariate (Mahalanobis) distance, for
# tests/test_matchit_closest_mahalanobis.py. Run from the repository root with a library
# holding MatchIt >= 4.5.4:
#   R_LIBS=/path/to/lib Rscript tests/reference/matchit/make_closest_reference.R
library(MatchIt)
data("lalonde", package = "MatchIt")
f_full <- treat ~ age + educ + race + married + nodegree + re74 + re75
f_num <- treat ~ age + educ + married + nodegree + re74 + re75  # no factor: solve() path
specs <- list(
  closest_mahalanobis        = list(formula = f_full, distance = "mahalanobis", m.order = "closest"),
  closest_mahalanobis_num    = list(formula = f_num, distance = "mahalanobis", m.order = "closest"),
  closest_mahalanobis_num_r2 = list(formula = f_num, distance = "mahalanobis", m.order = "closest",
                                    ratio = 2),
  closest_mahvars_caliper    = list(formula = f_full, distance = "glm",
                                    mahvars = ~ age + educ + re74 + re75, caliper = 0.25,
                                    m.order = "closest")
)
out <- "tests/reference/matchit"
for (id in names(specs)) {
  m <- do.call(matchit, c(list(data = lalonde, method = "nearest"), specs[[id]]))
  mm <- m$match.matrix
  idx <- matrix(match(mm, rownames(lalonde)), nrow = nrow(mm))
  colnames(idx) <- paste0("match_", seq_len(ncol(idx)))
  write.csv(data.frame(focal_row = match(rownames(mm), rownames(lalonde)), idx),
            file.path(out, sprintf("%s_match_matrix.csv", id)), row.names = FALSE, quote = FALSE,
            na = "NA")
  cat(id, ": matched treated", sum(!is.na(idx[, 1])), "\n")
}
