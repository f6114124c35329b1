# Reference values from R MatchIt on MatchIt's `lalonde` data.
#
# Regenerate (from the repository root):
#   R_LIBS=/path/to/private/lib Rscript tests/reference/matchit/make_reference.R \
#       > tests/reference/matchit/make_reference.Rout 2>&1
#
# Requires MatchIt >= 4.5.4 and sandwich. Writes CSV files next to this script.

suppressPackageStartupMessages({
  library(MatchIt)
  library(sandwich)
})

stopifnot(packageVersion("MatchIt") >= "4.5.4")

args <- commandArgs(trailingOnly = FALSE)
script_path <- sub("^--file=", "", args[grep("^--file=", args)])
out_dir <- if (length(script_path) == 1L) dirname(normalizePath(script_path)) else getwd()

cat("R version:        ", R.version.string, "\n")
cat("MatchIt version:  ", as.character(packageVersion("MatchIt")), "\n")
cat("sandwich version: ", as.character(packageVersion("sandwich")), "\n")
cat("output directory: ", out_dir, "\n\n")

data("lalonde", package = "MatchIt")
lalonde$employed78 <- as.numeric(lalonde$re78 > 0)
stopifnot(nrow(lalonde) == 614L)

f_full <- treat ~ age + educ + race + married + nodegree + re74 + re75
f_exact <- treat ~ race + married + nodegree

# Full-precision formatting of numbers (17 significant digits; "NA" kept).
fmt <- function(x) {
  if (is.logical(x)) return(ifelse(is.na(x), NA_character_, ifelse(x, "TRUE", "FALSE")))
  if (is.numeric(x)) return(ifelse(is.na(x), NA_character_, sprintf("%.17g", x)))
  as.character(x)
}

write_ref <- function(df, name, quote = FALSE) {
  df[] <- lapply(df, fmt)
  write.csv(df, file.path(out_dir, name), row.names = FALSE, quote = quote, na = "NA")
}

specs <- list(
  default              = list(formula = f_full, args = list()),
  caliper01            = list(formula = f_full, args = list(method = "nearest", caliper = 0.1)),
  ratio2_replace       = list(formula = f_full, args = list(method = "nearest", ratio = 2, replace = TRUE)),
  mahalanobis          = list(formula = f_full, args = list(method = "nearest", distance = "mahalanobis")),
  exact3               = list(formula = f_exact, args = list(method = "exact")),
  cem                  = list(formula = f_full, args = list(method = "cem")),
  discard_both         = list(formula = f_full, args = list(method = "nearest", discard = "both")),
  order_smallest       = list(formula = f_full, args = list(method = "nearest", m.order = "smallest")),
  order_closest        = list(formula = f_full, args = list(method = "nearest", m.order = "closest")),
  linear_logit_caliper = list(formula = f_full, args = list(method = "nearest", distance = "glm",
                                                            link = "linear.logit", caliper = 0.2)),
  ratio2_noreplace     = list(formula = f_full, args = list(method = "nearest", ratio = 2)),
  subclass             = list(formula = f_full, args = list(method = "subclass", estimand = "ATT")),
  atc_nearest          = list(formula = f_full, args = list(method = "nearest", estimand = "ATC",
                                                            replace = TRUE)),
  exact_plus_nearest   = list(formula = f_full, args = list(method = "nearest",
                                                            exact = ~ married + nodegree)),
  mahvars_caliper      = list(formula = f_full, args = list(method = "nearest", distance = "glm",
                                                            mahvars = ~ age + educ + re74 + re75,
                                                            caliper = 0.25))
)

row_id <- function(labels) match(labels, rownames(lalonde))

effect_rows <- function(id, m, replace, method) {
  md <- match.data(m)  # drops units with zero weight
  has_sub <- "subclass" %in% names(md) && !all(is.na(md$subclass))
  out <- list()
  for (y in c("re78", "employed78")) {
    fit <- lm(reformulate("treat", y), data = md, weights = weights)
    est <- unname(coef(fit)["treat"])
    se_hc3 <- sqrt(vcovHC(fit, type = "HC3")["treat", "treat"])
    se_cluster <- if (has_sub) sqrt(vcovCL(fit, cluster = ~subclass)["treat", "treat"]) else NA_real_
    # Recommended SE: cluster-robust by pair membership for NN matching without
    # replacement; HC3 for matching with replacement and exact/cem/subclass.
    use_cluster <- method == "nearest" && !replace && has_sub
    w <- md$weights
    t1 <- md$treat == 1
    t0 <- md$treat == 0
    yy <- md[[y]]
    out[[y]] <- data.frame(
      id = id, outcome = y, estimate = est,
      se = if (use_cluster) se_cluster else se_hc3,
      se_type = if (use_cluster) "vcovCL_subclass_HC1" else "vcovHC_HC3",
      se_cluster = se_cluster, se_hc3 = se_hc3,
      treated_mean = sum(w[t1] * yy[t1]) / sum(w[t1]),
      nonintervention_mean = sum(w[t0] * yy[t0]) / sum(w[t0]),
      n_treated_matched = sum(t1 & w > 0),
      n_control_matched = sum(t0 & w > 0),
      sum_w_treated = sum(w[t1]), sum_w_control = sum(w[t0]),
      ess_treated = sum(w[t1])^2 / sum(w[t1]^2),
      ess_control = sum(w[t0])^2 / sum(w[t0]^2),
      n_obs_md = nrow(md),
      stringsAsFactors = FALSE)
  }
  do.call(rbind, out)
}

summary_rows <- list()

for (id in names(specs)) {
  sp <- specs[[id]]
  cat("==================== ", id, " ====================\n", sep = "")
  m <- do.call("matchit", c(list(formula = sp$formula, data = quote(lalonde)), sp$args))
  print(m)
  method <- if (is.null(sp$args$method)) "nearest" else sp$args$method
  replace <- isTRUE(sp$args$replace)

  # ---- units ----
  units <- data.frame(
    row = seq_len(nrow(lalonde)),
    treat = as.integer(m$treat),
    distance = if (is.null(m$distance)) NA_real_ else unname(m$distance),
    weights = unname(m$weights),
    subclass = if (is.null(m$subclass)) NA_integer_ else as.integer(as.character(m$subclass)),
    discarded = unname(m$discarded))
  stopifnot(identical(names(m$treat), rownames(lalonde)))
  write_ref(units, paste0(id, "_units.csv"))

  # ---- match matrix (nearest only) ----
  n_focal_matched <- n_focal_unmatched <- NA_integer_
  if (!is.null(m$match.matrix)) {
    mm <- m$match.matrix
    num <- matrix(row_id(mm), nrow = nrow(mm))
    mmdf <- data.frame(focal_row = row_id(rownames(mm)))
    for (j in seq_len(ncol(num))) mmdf[[paste0("match_", j)]] <- num[, j]
    write_ref(mmdf, paste0(id, "_match_matrix.csv"))
    n_focal_matched <- sum(!is.na(num[, 1]))
    n_focal_unmatched <- sum(is.na(num[, 1]))
    cat("match.matrix: focal units matched =", n_focal_matched,
        "; unmatched =", n_focal_unmatched, "\n")
  }

  # ---- balance ----
  s <- summary(m, un = TRUE, interactions = FALSE)
  after <- if (!is.null(s$sum.across)) s$sum.across else s$sum.matched
  bal_tab <- function(tab, sample) {
    cols <- c("Means Treated", "Means Control", "Std. Mean Diff.", "Var. Ratio",
              "eCDF Mean", "eCDF Max", "Std. Pair Dist.")
    df <- data.frame(sample = sample, covariate = rownames(tab), stringsAsFactors = FALSE)
    for (cc in cols) df[[cc]] <- if (cc %in% colnames(tab)) unname(tab[, cc]) else NA_real_
    df
  }
  bal <- rbind(bal_tab(s$sum.all, "all"), bal_tab(after, "matched"))
  write_ref(bal, paste0(id, "_balance.csv"))
  print(s)

  nn <- data.frame(row = rownames(s$nn), Control = unname(s$nn[, "Control"]),
                   Treated = unname(s$nn[, "Treated"]), stringsAsFactors = FALSE)
  write_ref(nn, paste0(id, "_nn.csv"))

  # ---- effects ----
  eff <- effect_rows(id, m, replace, method)
  write_ref(eff, paste0(id, "_effect.csv"))
  print(eff)

  summary_rows[[id]] <- data.frame(
    id = id, method = method,
    estimand = m$estimand,
    call = paste(deparse(m$call, width.cutoff = 500L), collapse = " "),
    n_treated_all = sum(m$treat == 1), n_control_all = sum(m$treat == 0),
    n_discarded_treated = sum(m$discarded & m$treat == 1),
    n_discarded_control = sum(m$discarded & m$treat == 0),
    n_treated_weight_pos = sum(m$weights > 0 & m$treat == 1),
    n_control_weight_pos = sum(m$weights > 0 & m$treat == 0),
    n_focal_matched = n_focal_matched, n_focal_unmatched = n_focal_unmatched,
    n_subclasses = if (is.null(m$subclass)) NA_integer_ else nlevels(droplevels(m$subclass[!is.na(m$subclass)])),
    stringsAsFactors = FALSE)
  if (!is.null(m$q.cut)) {
    cat("subclass q.cut:", sprintf("%.17g", m$q.cut), "\n")
    write_ref(data.frame(k = seq_along(m$q.cut), q_cut = unname(m$q.cut)),
              paste0(id, "_qcut.csv"))
  }
  cat("\n")
}

spec_summary <- do.call(rbind, summary_rows)
write_ref(spec_summary, "specs_summary.csv", quote = TRUE)
print(spec_summary[, setdiff(names(spec_summary), "call")])

versions <- data.frame(
  component = c("R", "MatchIt", "sandwich"),
  version = c(paste(R.version$major, R.version$minor, sep = "."),
              as.character(packageVersion("MatchIt")),
              as.character(packageVersion("sandwich"))))
write_ref(versions, "versions.csv")

cat("\nsessionInfo():\n")
print(sessionInfo())
