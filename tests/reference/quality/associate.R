# Reference values for regmed.quality.associate / associate_potency / responder_strata.
# Inputs: assoc_patients.csv, assoc_lots.csv (simulated by regmed.quality.simulate_quality,
# seed 11). Output: associate.json. Run: Rscript associate.R
suppressPackageStartupMessages({library(sandwich); library(lmtest); library(survival)
  library(splines); library(jsonlite)})
pat <- read.csv("assoc_patients.csv"); lots <- read.csv("assoc_lots.csv")
attrs <- c("a01", "a02", "a03", "a04")
rcs <- function(x, k) {  # Harrell's restricted cubic spline, nonlinear terms
  p3 <- function(u) pmax(u, 0)^3; t1 <- k[length(k)]; t0 <- k[length(k) - 1]
  sapply(seq_len(length(k) - 2), function(j) (p3(x - k[j]) - p3(x - t0) * (t1 - k[j]) / (t1 - t0)
    + p3(x - t1) * (t0 - k[j]) / (t1 - t0)) / (t1 - k[1])^2)
}
row <- function(ct, ci, a, d) list(attribute = a, estimate = unname(ct[2, 1]),
  std_error = unname(ct[2, 2]), ci_lower = unname(ci[2, 1]), ci_upper = unname(ci[2, 2]),
  p_value = unname(ct[2, 4]), n_patients = nrow(d), n_lots = length(unique(d$lot_code)))
prep <- function(a, d = pat) {
  z <- (lots[[a]] - mean(lots[[a]])) / sd(lots[[a]]); names(z) <- lots$lot_code
  d$x <- unname(z[d$lot_code]); d
}
out <- list()
for (kind in c("binary", "continuous", "binary_nocluster", "survival", "binary_donor")) {
  rows <- list(); spl <- c()
  for (a in attrs) {
    d <- prep(a)
    if (kind == "binary") {
      f <- glm(response ~ x + age + sex, family = binomial, data = d, control = glm.control(epsilon = 1e-12, maxit = 100))
      V <- vcovCL(f, cluster = ~lot_code)
      ct <- coeftest(f, vcov. = V); ci <- coefci(f, vcov. = V)
      # spline: same space as ns(x, df = 3)? compare deviances, then Wald on rcs terms
      k <- quantile(d$x, c(0, 1/3, 2/3, 1)); R <- rcs(d$x, k)
      f2 <- glm(response ~ x + R + age + sex, family = binomial, data = d, control = glm.control(epsilon = 1e-12, maxit = 100))
      f3 <- glm(response ~ ns(x, df = 3) + age + sex, family = binomial, data = d, control = glm.control(epsilon = 1e-12, maxit = 100))
      stopifnot(abs(deviance(f2) - deviance(f3)) < 1e-8)
      V2 <- vcovCL(f2, cluster = ~lot_code); b <- coef(f2)[3:4]
      spl <- c(spl, pchisq(drop(t(b) %*% solve(V2[3:4, 3:4]) %*% b), 2, lower.tail = FALSE))
    } else if (kind == "binary_donor") {
      d$donor_code <- lots$donor_code[match(d$lot_code, lots$lot_code)]
      f <- glm(response ~ x + age + sex, family = binomial, data = d, control = glm.control(epsilon = 1e-12, maxit = 100))
      V <- vcovCL(f, cluster = ~donor_code)
      ct <- coeftest(f, vcov. = V); ci <- coefci(f, vcov. = V)
    } else if (kind == "binary_nocluster") {
      f <- glm(response ~ x + age + sex, family = binomial, data = d, control = glm.control(epsilon = 1e-12, maxit = 100))
      ct <- coeftest(f); ci <- confint.default(f)
    } else if (kind == "continuous") {
      f <- lm(score ~ x + age + sex, data = d)
      V <- vcovCL(f, cluster = ~lot_code)
      ct <- coeftest(f, vcov. = V); ci <- coefci(f, vcov. = V)
    } else {
      f <- coxph(Surv(pfs_time, pfs_event) ~ x + age + sex, data = d, cluster = lot_code)
      s <- summary(f)$coefficients
      ct <- rbind(NA, s[, c("coef", "robust se", "z", "Pr(>|z|)")])
      ci <- rbind(NA, cbind(s[, "coef"] - qnorm(0.975) * s[, "robust se"],
                            s[, "coef"] + qnorm(0.975) * s[, "robust se"]))
    }
    rows[[a]] <- row(ct, ci, a, d)
  }
  tab <- do.call(rbind, lapply(rows, as.data.frame))
  tab$q_value <- p.adjust(tab$p_value, method = "BH")
  if (length(spl)) tab$p_nonlinear <- spl
  out[[kind]] <- tab
}
# small-sample reference: t with G - 1 df (G = number of lots) for the cluster-robust fits
G <- length(unique(pat$lot_code))
for (kind in c("binary", "continuous", "survival")) {
  rows <- list()
  for (a in attrs) {
    d <- prep(a)
    if (kind == "survival") {
      f <- coxph(Surv(pfs_time, pfs_event) ~ x + age + sex, data = d, cluster = lot_code)
      b <- unname(coef(f)[1]); se <- unname(sqrt(diag(vcov(f)))[1])
      ct <- rbind(NA, c(b, se, b / se, 2 * pt(-abs(b / se), G - 1)))
      ci <- rbind(NA, b + c(-1, 1) * qt(0.975, G - 1) * se)
    } else {
      f <- if (kind == "binary") glm(response ~ x + age + sex, family = binomial, data = d,
                                   control = glm.control(epsilon = 1e-12, maxit = 100))
           else lm(score ~ x + age + sex, data = d)
      V <- vcovCL(f, cluster = ~lot_code)
      ct <- coeftest(f, vcov. = V, df = G - 1); ci <- coefci(f, vcov. = V, df = G - 1)
    }
    rows[[a]] <- row(ct, ci, a, d)
  }
  tab <- do.call(rbind, lapply(rows, as.data.frame))
  tab$q_value <- p.adjust(tab$p_value, method = "BH")
  out[[paste0(kind, "_small_sample")]] <- tab
}
# leave-one-site-out, binary, attribute a01
loso <- sapply(sort(unique(pat$site_code)), function(s) {
  d <- prep("a01", pat[pat$site_code != s, ])
  # the SD is over the lots left in the analysis
  keep <- lots[lots$lot_code %in% d$lot_code, ]
  z <- (keep$a01 - mean(keep$a01)) / sd(keep$a01); names(z) <- keep$lot_code
  d$x <- unname(z[d$lot_code])
  unname(coef(glm(response ~ x + age + sex, family = binomial, data = d, control = glm.control(epsilon = 1e-12, maxit = 100)))[2])
})
out$loso_a01 <- as.list(loso)
# potency: lot-level lm of a01 on each other attribute per SD
pot <- lapply(c("a02", "a03", "a04"), function(a) {
  x <- (lots[[a]] - mean(lots[[a]])) / sd(lots[[a]]); f <- lm(lots$a01 ~ x)
  s <- summary(f); ci <- confint(f)
  list(attribute = a, estimate = unname(coef(f)[2]), std_error = s$coefficients[2, 2],
       ci_lower = ci[2, 1], ci_upper = ci[2, 2], p_value = s$coefficients[2, 4],
       r_squared = s$r.squared)})
pot <- do.call(rbind, lapply(pot, as.data.frame)); pot$q_value <- p.adjust(pot$p_value, "BH")
out$potency <- pot
# Wilson intervals by sex and site (prop.test without continuity correction)
strata <- list()
for (v in c("sex", "site_code")) for (lev in sort(unique(pat[[v]]))) {
  y <- pat$response[pat[[v]] == lev]; pt <- prop.test(sum(y), length(y), correct = FALSE)
  strata[[length(strata) + 1]] <- list(variable = v, level = lev, n = length(y),
    responders = sum(y), ci_lower = pt$conf.int[1], ci_upper = pt$conf.int[2])
}
out$strata <- do.call(rbind, lapply(strata, as.data.frame))
out$source <- "R glm/lm + sandwich::vcovCL + lmtest::coeftest/coefci; survival::coxph(cluster); p.adjust BH; prop.test(correct=FALSE)"
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "associate.json")
