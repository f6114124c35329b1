# Reference values for pbr_eval's weighted Kaplan-Meier curves and restricted means.
#
# Run from the repository root (R from Debian: apt-get install -y r-base-core r-cran-survival):
#     python tests/reference/r_survival/make_weights.py     # the weights (pbr_eval's own)
#     Rscript tests/reference/r_survival/survival.R
# Reads data/reoffending_time.csv (the shipped simulated cohort: times are computed here from
# its dates) and tests/reference/r_survival/rossi.csv (Rossi et al. 1980, the copy shipped
# with lifelines 0.30.3), with weights_sim.csv / weights_rossi.csv; writes km_curves.csv,
# rmst.csv, km_robust_se.csv (survfit(..., id =, robust = TRUE): the infinitesimal
# jackknife standard errors at a few times), cox_coef.csv, cox_gcomp.csv and R_VERSION.txt here. Every curve is survfit(Surv(time, event) ~ 1,
# weights = w) of one group (participants or comparison people) with one
# method's weights (rows with weight 0 left out), follow-up cut at the window; restricted
# means from summary(fit, rmean = horizon)$table (survival:::survmean).
suppressPackageStartupMessages(library(survival))
here <- "tests/reference/r_survival"

sim <- read.csv("data/reoffending_time.csv", stringsAsFactors = FALSE)
stop_date <- ifelse(is.na(sim$first_reoffence) | sim$first_reoffence == "",
                    sim$follow_up_end, sim$first_reoffence)
days <- as.numeric(as.Date(stop_date) - as.Date(sim$released))
happened <- !(is.na(sim$first_reoffence) | sim$first_reoffence == "")
sim_window <- 365
sim_d <- data.frame(time = pmin(days, sim_window),
                    event = as.numeric(happened & days <= sim_window),
                    treated = sim$treated)

rossi <- read.csv(file.path(here, "rossi.csv"))
rossi_window <- 52
rossi_d <- data.frame(time = pmin(rossi$week, rossi_window),
                      event = as.numeric(rossi$arrest == 1 & rossi$week <= rossi_window),
                      treated = rossi$fin)

curves <- list()
rmsts <- list()
robust <- list()
run <- function(name, d, weights, window, horizons, grid) {
  methods <- c("unweighted", setdiff(names(weights), "row"))
  for (m in methods) {
    w_all <- if (m == "unweighted") rep(1, nrow(d)) else weights[[m]]
    for (g in c("treated", "comparison")) {
      keep <- (d$treated == (g == "treated")) & w_all > 0
      dd <- d[keep, ]
      w <- w_all[keep]
      fit <- survfit(Surv(time, event) ~ 1, data = dd, weights = w)
      # robust (infinitesimal jackknife) standard errors of the curve at the grid times
      dd$id <- seq_len(nrow(dd))
      rob <- summary(survfit(Surv(time, event) ~ 1, data = dd, weights = w, id = id,
                             robust = TRUE), times = grid)
      robust[[length(robust) + 1]] <<- data.frame(
        dataset = name, method = m, group = g, time = rob$time, surv = rob$surv,
        std_err = rob$std.err)
      curves[[length(curves) + 1]] <<- data.frame(
        dataset = name, method = m, group = g, time = fit$time, n_risk = fit$n.risk,
        n_event = fit$n.event, surv = fit$surv)
      for (h in horizons) {
        tab <- summary(fit, rmean = h)$table
        rmsts[[length(rmsts) + 1]] <<- data.frame(
          dataset = name, method = m, group = g, horizon = h,
          rmean = unname(tab["rmean"]), se_rmean = unname(tab["se(rmean)"]))
      }
    }
  }
}
run("sim", sim_d, read.csv(file.path(here, "weights_sim.csv")), sim_window, c(365, 200),
    c(30, 90, 180, 270, 365))
run("rossi", rossi_d, read.csv(file.path(here, "weights_rossi.csv")), rossi_window, c(52, 30),
    c(5, 10, 20, 30, 40, 52))

# Cox g-computation: coxph (Breslow ties) on the comparison group, its predicted curves for
# the participants averaged (survfit(fit, newdata)), and the restricted mean of that average.
coxes <- list()
gcomps <- list()
gcomp <- function(name, d, covariates, horizons) {
  comp <- d[d$treated == 0, ]
  form <- as.formula(paste("Surv(time, event) ~", paste(covariates, collapse = " + ")))
  fit <- coxph(form, data = comp, ties = "breslow")
  co <- summary(fit)$coefficients
  coxes[[length(coxes) + 1]] <<- data.frame(dataset = name, term = rownames(co),
                                            coef = co[, "coef"], se = co[, "se(coef)"])
  pred <- survfit(fit, newdata = d[d$treated == 1, ], se.fit = FALSE)
  avg <- rowMeans(pred$surv)
  keep <- pred$n.event > 0
  gcomps[[length(gcomps) + 1]] <<- data.frame(dataset = name, time = pred$time[keep],
                                              surv = avg[keep], horizon = NA)
  for (h in horizons) {
    t <- c(0, pred$time[pred$time < h], h)
    s <- c(1, avg[pred$time < h])
    gcomps[[length(gcomps) + 1]] <<- data.frame(dataset = name, time = NA,
                                                surv = sum(s * diff(t)), horizon = h)
  }
}
sim_d <- cbind(sim_d, sim[, c("age", "sex", "prior_offences", "offence_type", "sentence_months")])
sim_d$sex <- factor(sim_d$sex)
sim_d$offence_type <- factor(sim_d$offence_type)
gcomp("sim", sim_d, c("age", "sex", "prior_offences", "offence_type", "sentence_months"),
      c(365, 200))
rossi_d <- cbind(rossi_d, rossi[, c("age", "race", "wexp", "mar", "paro", "prio")])
gcomp("rossi", rossi_d, c("age", "race", "wexp", "mar", "paro", "prio"), c(52, 30))

full <- function(frame) {  # every number to 17 significant digits (write.csv keeps 15)
  for (col in names(frame)) if (is.double(frame[[col]])) frame[[col]] <- sprintf("%.17g", frame[[col]])
  frame
}
write.csv(full(do.call(rbind, curves)), file.path(here, "km_curves.csv"), row.names = FALSE,
          quote = FALSE)
write.csv(full(do.call(rbind, rmsts)), file.path(here, "rmst.csv"), row.names = FALSE,
          quote = FALSE)
write.csv(full(do.call(rbind, robust)), file.path(here, "km_robust_se.csv"), row.names = FALSE,
          quote = FALSE)
write.csv(full(do.call(rbind, coxes)), file.path(here, "cox_coef.csv"), row.names = FALSE,
          quote = FALSE)
write.csv(full(do.call(rbind, gcomps)), file.path(here, "cox_gcomp.csv"), row.names = FALSE,
          quote = FALSE)
writeLines(c(R.version.string, paste("survival", as.character(packageVersion("survival")))),
           file.path(here, "R_VERSION.txt"))
