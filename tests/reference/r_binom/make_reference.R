# Reference intervals for pbr_eval.claims.audit.proportion_ci and sample sizes,
# from base R (independent of scipy). Run: Rscript make_reference.R > intervals.csv
# Clopper-Pearson: binom.test()$conf.int; Wilson: prop.test(correct = FALSE)$conf.int.
# Zero-acceptance attribute sample size: smallest n with pbinom(c, n, p) <= 1 - level;
# finite population: phyper(c, K, N - K, n) <= 1 - level with K = ceiling(p * N).
cases <- expand.grid(x = c(0, 1, 2, 3, 7, 15), n = c(15, 30, 766), level = c(0.9, 0.95, 0.99))
cases <- cases[cases$x <= cases$n, ]
rows <- lapply(seq_len(nrow(cases)), function(i) {
  x <- cases$x[i]; n <- cases$n[i]; lv <- cases$level[i]
  cp <- binom.test(x, n, conf.level = lv)$conf.int
  wi <- prop.test(x, n, conf.level = lv, correct = FALSE)$conf.int
  data.frame(x = x, n = n, level = lv, cp_lower = cp[1], cp_upper = cp[2],
             wilson_lower = wi[1], wilson_upper = wi[2])
})
out <- do.call(rbind, rows)
size_binom <- function(p, level, c) { n <- c + 1; while (pbinom(c, n, p) > 1 - level) n <- n + 1; n }
size_hyper <- function(p, level, c, N) {
  K <- ceiling(p * N); n <- c + 1
  while (phyper(c, K, N - K, n) > 1 - level && n < N) n <- n + 1; n }
sizes <- expand.grid(tol = c(0.02, 0.05, 0.1), level = c(0.9, 0.95), acceptance = c(0, 1, 2))
sizes$n_binomial <- mapply(size_binom, sizes$tol, sizes$level, sizes$acceptance)
sizes$n_hyper_766 <- mapply(size_hyper, sizes$tol, sizes$level, sizes$acceptance, 766)
options(digits = 15)
write.csv(out, "intervals.csv", row.names = FALSE)
write.csv(sizes, "sample_sizes.csv", row.names = FALSE)
cat(R.version.string, "\n", file = "R_VERSION.txt")
