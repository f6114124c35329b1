# Abadie-Imbens (2006) standard errors from R's `Matching` (Sekhon 2011) when comparison units
# share a score, for tests/test_abadie_imbens_reference.py. Input: ai_ties_input.csv
# (make_ties_input.py): the tie-free input plus "twin" comparison units with exactly the score
# of another comparison unit and their own outcomes, barred from being matched (`restrict`),
# so that the ties meet only the variance step (Var.calc = 1: each unit's conditional
# variance from its nearest other unit of its group, here its twin at distance 0).
# Run from the repository root: Rscript tests/reference/matching_pkg/make_ties_reference.R
library(Matching)
dir <- "tests/reference/matching_pkg"
d <- read.csv(file.path(dir, "ai_ties_input.csv"))
tr <- which(d$treat == 1)
tw <- which(d$eligible == 0)
restrict <- cbind(as.matrix(expand.grid(tr, tw)), -1)
rows <- list()
for (y in c("reoffended", "reconviction_events")) {
  m <- Match(Y = d[[y]], Tr = d$treat, X = d$ps, estimand = "ATT", M = 1, replace = TRUE,
             ties = TRUE, Var.calc = 1, BiasAdjust = FALSE, distance.tolerance = 1e-12,
             tolerance = 1e-14, restrict = restrict)
  stopifnot(length(m$index.treated) == length(tr), !any(m$index.control %in% tw))
  rows[[y]] <- data.frame(outcome = y, estimate = sprintf("%.17g", m$est),
                          se_ai = sprintf("%.17g", m$se),
                          n_matched_controls = length(unique(m$index.control)),
                          n_matched_with_twin = sum(unique(m$index.control) %in% which(
                            d$eligible == 1 & duplicated(d$ps, fromLast = TRUE) |
                            d$eligible == 1 & duplicated(d$ps))))
}
write.csv(do.call(rbind, rows), file.path(dir, "ai_ties_reference.csv"), row.names = FALSE,
          quote = FALSE)
writeLines(c(paste("R", R.version$major, R.version$minor),
             paste("Matching", packageVersion("Matching"))),
           file.path(dir, "ties_versions.txt"))
