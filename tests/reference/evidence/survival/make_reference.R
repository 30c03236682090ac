# Reference values for regmed.evidence fit_cox / kaplan_meier / survival effects,
# from R's survival package (coxph, survfit, print.survfit's median and rmean).
# Run: Rscript make_reference.R  (from this folder)
suppressMessages({library(survival); library(jsonlite)})

lung <- survival::lung
lung <- lung[complete.cases(lung[, c("time", "status", "age", "sex", "ph.ecog", "inst")]),
             c("time", "status", "age", "sex", "ph.ecog", "inst", "wt.loss")]
lung$event <- lung$status - 1L
vet <- survival::veteran
vet$trt2 <- as.integer(vet$trt == 2)
vet$event <- vet$status
# simulated matched sample: pairs (subclass), heavy ties (times rounded), non-integer weights
set.seed(20261122)
n <- 300
sim <- data.frame(subclass = rep(1:150, each = 2), treat = rep(c(1L, 0L), 150))
sim$x <- rnorm(n)
rate <- 0.08 * exp(-0.4 * sim$treat + 0.3 * sim$x)
tt <- rexp(n, rate); cc <- runif(n, 5, 30)
sim$time <- pmax(1, round(pmin(tt, cc)))
sim$event <- as.integer(tt <= cc)
sim$weights <- round(runif(n, 0.3, 2.5), 3)
sim$site <- sample(c("A", "B", "C"), n, replace = TRUE)
write.csv(lung, "lung.csv", row.names = FALSE)
write.csv(vet[, c("time", "event", "trt2", "karno", "age", "celltype")], "veteran.csv",
          row.names = FALSE)
write.csv(sim, "sim_matched.csv", row.names = FALSE)

cox_out <- function(fit) {
  s <- summary(fit)$coefficients
  rob <- "robust se" %in% colnames(s)
  ci <- confint(fit)
  list(term = rownames(s), estimate = unname(s[, "coef"]),
       naive_se = unname(s[, "se(coef)"]),
       std_error = unname(if (rob) s[, "robust se"] else s[, "se(coef)"]),
       statistic = unname(s[, "z"]), p_value = unname(s[, "Pr(>|z|)"]),
       ci_lower = unname(ci[, 1]), ci_upper = unname(ci[, 2]),
       loglik = fit$loglik, robust = rob)
}
cox <- list(
  lung_efron = cox_out(coxph(Surv(time, event) ~ age + sex + ph.ecog, data = lung)),
  lung_breslow = cox_out(coxph(Surv(time, event) ~ age + sex + ph.ecog, data = lung,
                               ties = "breslow")),
  lung_cluster_inst = cox_out(coxph(Surv(time, event) ~ age + sex + ph.ecog, data = lung,
                                    cluster = inst)),
  lung_strata_sex = cox_out(coxph(Surv(time, event) ~ age + ph.ecog + strata(sex), data = lung)),
  veteran_efron = cox_out(coxph(Surv(time, event) ~ trt2 + karno + age, data = vet)),
  veteran_strata_robust = cox_out(coxph(Surv(time, event) ~ trt2 + karno + strata(celltype),
                                        data = vet, robust = TRUE)),
  sim_weights_cluster = cox_out(coxph(Surv(time, event) ~ treat, data = sim, weights = weights,
                                      cluster = subclass)),
  sim_weights_robust_treat = cox_out(coxph(Surv(time, event) ~ treat, data = sim,
                                           weights = weights, robust = TRUE)),
  sim_weights_robust = cox_out(coxph(Surv(time, event) ~ treat + x, data = sim,
                                     weights = weights, robust = TRUE)),
  sim_weights_naive = cox_out(coxph(Surv(time, event) ~ treat + x, data = sim,
                                    weights = weights)),
  sim_cluster_strata_site = cox_out(coxph(Surv(time, event) ~ treat + x + strata(site),
                                          data = sim, cluster = subclass))
)

km_out <- function(fit, times, tau) {
  s <- summary(fit, times = times, extend = FALSE)
  tab <- summary(fit)$table
  if (is.null(dim(tab))) tab <- t(as.matrix(tab))
  rm <- summary(fit, rmean = tau)$table
  if (is.null(dim(rm))) rm <- t(as.matrix(rm))
  grp <- if (is.null(s$strata)) rep("all", length(s$time)) else sub(".*=", "", as.character(s$strata))
  list(at = list(group = grp, time = s$time, surv = s$surv, lower = s$lower, upper = s$upper,
                 std_err = s$std.err),
       groups = if (is.null(fit$strata)) "all" else sub(".*=", "", names(fit$strata)),
       median = unname(tab[, "median"]), median_lower = unname(tab[, "0.95LCL"]),
       median_upper = unname(tab[, "0.95UCL"]),
       rmean = unname(rm[, "rmean"]), rmean_se = unname(rm[, "se(rmean)"]), tau = tau)
}
km <- list(
  lung_sex = km_out(survfit(Surv(time, event) ~ sex, data = lung), c(50, 100, 365, 500, 700), 600),
  lung_all = km_out(survfit(Surv(time, event) ~ 1, data = lung), c(5, 183, 365, 730, 1000), 700),
  veteran_trt = km_out(survfit(Surv(time, event) ~ trt2, data = vet), c(1, 10, 30, 100, 400), 500),
  sim_weighted = km_out(survfit(Surv(time, event) ~ treat, data = sim, weights = weights),
                        c(1, 3, 5, 10, 20, 29), 25),
  sim_weighted_cluster = km_out(survfit(Surv(time, event) ~ treat, data = sim, weights = weights,
                                        cluster = subclass), c(1, 3, 5, 10, 20, 29), 25),
  sim_cluster_site = km_out(survfit(Surv(time, event) ~ 1, data = sim, cluster = site),
                            c(2, 4, 8, 16), 20)
)
out <- list(cox = cox, km = km,
            versions = list(R = R.version.string,
                            survival = as.character(packageVersion("survival"))))
cat(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"),
    file = "expected.json")
