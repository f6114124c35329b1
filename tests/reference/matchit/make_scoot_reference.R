# Subclassification where some subclasses lack treated or control units, so MatchIt
# "scoots" units from neighbouring subclasses (min.n); for tests/test_matchit_scoot.py.
# Run from the repository root with a library holding MatchIt >= 4.5.4:
#   R_LIBS=/path/to/lib Rscript tests/reference/matchit/make_scoot_reference.R
library(MatchIt)
data("lalonde", package = "MatchIt")
f_full <- treat ~ age + educ + race + married + nodegree + re74 + re75
specs <- list(
  scoot_att_k30      = list(method = "subclass", subclass = 30, estimand = "ATT"),
  scoot_att_k30_min2 = list(method = "subclass", subclass = 30, estimand = "ATT", min.n = 2),
  scoot_atc_k25      = list(method = "subclass", subclass = 25, estimand = "ATC"),
  nomin_att_k30      = list(method = "subclass", subclass = 30, estimand = "ATT", min.n = 0)
)
out <- "tests/reference/matchit"
for (id in names(specs)) {
  m <- suppressWarnings(do.call(matchit, c(list(formula = f_full, data = lalonde), specs[[id]])))
  sub <- if (is.null(m$subclass)) NA_integer_ else as.integer(as.character(m$subclass))
  write.csv(data.frame(row = seq_len(nrow(lalonde)), treat = lalonde$treat,
                       subclass = sub, weights = sprintf("%.17g", m$weights)),
            file.path(out, sprintf("%s_units.csv", id)), row.names = FALSE, quote = FALSE)
  cat(id, ": subclasses", nlevels(droplevels(m$subclass[!is.na(m$subclass)])),
      "; treated/controls with weight > 0:", sum(m$weights[lalonde$treat == 1] > 0),
      sum(m$weights[lalonde$treat == 0] > 0), "\n")
}
