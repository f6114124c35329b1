# Abadie-Imbens (2006) standard errors from R's `Matching` package (Sekhon 2011) for
# 1:1 nearest-neighbour matching with replacement on a given propensity score (ATT),
# for tests/test_abadie_imbens_reference.py. Input: ai_input.csv (make_input.py).
# Run from the repository root: Rscript tests/reference/matching_pkg/make_reference.R
library(Matching)
dir <- "tests/reference/matching_pkg"
d <- read.csv(file.path(dir, "ai_input.csv"))
rows <- list()
for (y in c("reoffended", "reconviction_events")) {
  # Var.calc = 1: heteroskedasticity-robust AI variance, conditional variances from
  # the nearest same-group unit. The score has no exact ties and distance.tolerance is
  # tiny (as is `tolerance`, which also decides near-ties), so each treated unit gets
  # exactly one control, as in MatchIt (Matching
  # computes the AI standard error only with ties = TRUE).
  m <- Match(Y = d[[y]], Tr = d$treat, X = d$ps, estimand = "ATT", M = 1, replace = TRUE,
             ties = TRUE, Var.calc = 1, BiasAdjust = FALSE, distance.tolerance = 1e-12,
             tolerance = 1e-14)
  stopifnot(length(m$index.treated) == sum(d$treat == 1))
  rows[[y]] <- data.frame(outcome = y, estimate = sprintf("%.17g", m$est),
                          se_ai = sprintf("%.17g", m$se),
                          n_matched_controls = length(unique(m$index.control)))
}
write.csv(do.call(rbind, rows), file.path(dir, "ai_reference.csv"), row.names = FALSE, quote = FALSE)
writeLines(c(paste("R", R.version$major, R.version$minor), paste("Matching", packageVersion("Matching"))),
           file.path(dir, "versions.txt"))
