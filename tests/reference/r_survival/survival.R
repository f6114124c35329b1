# Reference values for pbr_eval's weighted Kaplan-Meier curves and restricted means.
#
# Run from the repository root (R from Debian: apt-get install -y r-base-core r-cran-survival):
#     python tests/reference/r_survival/make_weights.py     # the weights (pbr_eval's own)
#     Rscript tests/reference/r_survival/survival.R
# Reads data/reoffending_time.csv (the shipped simulated cohort: times are computed here from
# its dates) and tests/reference/r_survival/rossi.csv (Rossi et al. 1980, the copy shipped
# with lifelines 0.30.3), with weights_sim.csv / weights_rossi.csv; writes km_curves.csv,
# rmst.csv and R_VERSION.txt here. Every curve is survfit(Surv(time, event) ~ 1,
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
run <- function(name, d, weights, window, horizons) {
  methods <- c("unweighted", setdiff(names(weights), "row"))
  for (m in methods) {
    w_all <- if (m == "unweighted") rep(1, nrow(d)) else weights[[m]]
    for (g in c("treated", "comparison")) {
      keep <- (d$treated == (g == "treated")) & w_all > 0
      dd <- d[keep, ]
      w <- w_all[keep]
      fit <- survfit(Surv(time, event) ~ 1, data = dd, weights = w)
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
run("sim", sim_d, read.csv(file.path(here, "weights_sim.csv")), sim_window, c(365, 200))
run("rossi", rossi_d, read.csv(file.path(here, "weights_rossi.csv")), rossi_window, c(52, 30))

full <- function(frame) {  # every number to 17 significant digits (write.csv keeps 15)
  for (col in names(frame)) if (is.double(frame[[col]])) frame[[col]] <- sprintf("%.17g", frame[[col]])
  frame
}
write.csv(full(do.call(rbind, curves)), file.path(here, "km_curves.csv"), row.names = FALSE,
          quote = FALSE)
write.csv(full(do.call(rbind, rmsts)), file.path(here, "rmst.csv"), row.names = FALSE,
          quote = FALSE)
writeLines(c(R.version.string, paste("survival", as.character(packageVersion("survival")))),
           file.path(here, "R_VERSION.txt"))
