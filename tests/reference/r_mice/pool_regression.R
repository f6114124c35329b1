# Regression adjustment in each completed data set, pooled with mice::pool.scalar.
# Called by make_reference.py: Rscript pool_regression.R completed.csv OUTDIR
# Written from the estimator's documented formulas (pbr_eval.estimators.regression:
# g-computation of E[Y(0) | treated] with a canonical-link glm fitted on the comparison
# group), not from pbr_eval's code.
suppressPackageStartupMessages(library(mice))
args <- commandArgs(trailingOnly = TRUE)
long <- read.csv(args[1], stringsAsFactors = FALSE)
outdir <- args[2]

fit_ra <- function(d, outcome, family) {
  d$offence_type <- factor(d$offence_type, levels = sort(unique(d$offence_type)))
  d$sex <- factor(d$sex, levels = sort(unique(d$sex)))
  t <- d$treated == 1
  Z <- model.matrix(~ age + sex + prior_offences + offence_type + sentence_months, data = d)
  y <- d[[outcome]]
  fit <- glm.fit(Z[!t, ], y[!t], family = family, control = glm.control(epsilon = 1e-14, maxit = 100))
  beta <- fit$coefficients
  eta <- drop(Z %*% beta)
  m <- family$linkinv(eta)
  v <- family$mu.eta(eta)            # dm/deta; canonical link: the variance too
  n1 <- sum(t)
  mu0 <- mean(m[t]); mu1 <- mean(y[t])
  H <- crossprod(Z[!t, ], v[!t] * Z[!t, ])            # information on the comparison rows
  score <- ((!t) * (y - m)) * Z                       # each row's score contribution
  phi_beta <- score %*% solve(H)                      # influence on beta
  D <- colSums(v[t] * Z[t, , drop = FALSE]) / n1      # d mu0 / d beta
  phi0 <- t * (m - mu0) / n1 + drop(phi_beta %*% D)
  phi1 <- t * (y - mu1) / n1
  c(non_intervention = mu0, non_intervention_se = sqrt(sum(phi0^2)),
    effect = mu1 - mu0, std_error = sqrt(sum((phi1 - phi0)^2)),
    n = nrow(d), k = ncol(Z) + 1)
}

outcomes <- list(reoffended = binomial(), reconviction_events = poisson())
per <- list(); pooled <- list()
for (o in names(outcomes)) {
  est <- t(sapply(sort(unique(long$imputation)), function(j)
    fit_ra(long[long$imputation == j, ], o, outcomes[[o]])))
  per[[o]] <- data.frame(outcome = o, imputation = seq_len(nrow(est)), est)
  n <- est[1, "n"]; k <- est[1, "k"]
  for (q in c("non_intervention", "effect")) {
    se <- if (q == "effect") "std_error" else "non_intervention_se"
    p <- pool.scalar(est[, q], est[, se]^2, n = n, k = k)
    pooled[[length(pooled) + 1]] <- data.frame(
      outcome = o, quantity = q, estimate = p$qbar, std_error = sqrt(p$t), df = p$df,
      fmi = p$fmi, riv = p$r, within = p$ubar, between = p$b, dfcom = n - k)
  }
}
fmt <- function(x) { x[] <- lapply(x, function(c) if (is.numeric(c)) sprintf("%.15g", c) else c); x }
write.csv(fmt(do.call(rbind, pooled)), file.path(outdir, "pooled.csv"), row.names = FALSE, quote = FALSE)
write.csv(fmt(do.call(rbind, per)), file.path(outdir, "per_imputation.csv"), row.names = FALSE, quote = FALSE)
writeLines(paste("R", getRversion(), "mice", as.character(packageVersion("mice"))),
           file.path(outdir, "R_VERSION.txt"))
