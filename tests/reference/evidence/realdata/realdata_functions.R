# Helpers shared by make_realdata.R and make_realdata_more.R (sourced; not run alone).
num <- function(x) as.list(sprintf("%.17g", x))
coefs <- function(fit) {
  s <- summary(fit)$coefficients
  list(term = rownames(s), estimate = num(s[, 1]), std_error = num(s[, 2]))
}
sets_of <- function(m) {
  mm <- m$match.matrix
  s <- lapply(seq_len(nrow(mm)), function(i) list(treated = rownames(mm)[i],
                                                  controls = unname(mm[i, !is.na(mm[i, ])])))
  Filter(function(x) length(x$controls) > 0, s)
}
cx <- function(name, fit, data, time, event, covs, strata = NULL, cluster = NULL,
               ties = "efron", levels = NULL) {
  list(name = name, data = data, time = time, event = event, covariates = covs,
       strata = strata, cluster = cluster, ties = ties, levels = levels,
       term = names(coef(fit)), coef = num(coef(fit)), se = num(sqrt(diag(vcov(fit)))),
       loglik = num(fit$loglik))
}
km <- function(name, fit, data, time, event, group, times) {
  s <- summary(fit, times = times, extend = FALSE)
  list(name = name, data = data, time = time, event = event, group = group, times = times,
       strata = as.list(sub(".*=", "", as.character(s$strata))), at = num(s$time),
       surv = num(s$surv), lower = num(s$lower), upper = num(s$upper), std_err = num(s$std.err))
}
