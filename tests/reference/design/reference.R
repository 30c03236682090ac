# Reference values for regmed.design, computed with rpact 3.3.4 and pwr (R 4.2.2, Debian).
# Run from this folder:  Rscript reference.R   -> writes design_reference.json
# Every case lists its inputs (in regmed's argument names) and rpact's / pwr's outputs.
suppressPackageStartupMessages({library(rpact); library(pwr); library(jsonlite)})
stopifnot(as.character(packageVersion("rpact")) == "3.3.4")

levels <- list(list(alpha = 0.025, sided = 1), list(alpha = 0.05, sided = 1),
               list(alpha = 0.05, sided = 2), list(alpha = 0.01, sided = 2))

# ---- getSampleSizeRates (normal approximation) ---------------------------------------------
rates <- list()
pairs <- list(c(0.45, 0.25), c(0.6, 0.4), c(0.3, 0.15), c(0.2, 0.35), c(0.8, 0.65))
for (pp in pairs) for (lv in levels) for (pw in c(0.8, 0.9)) for (r in c(0.5, 1, 2, 3)) {
  s <- getSampleSizeRates(pi1 = pp[1], pi2 = pp[2], alpha = lv$alpha, sided = lv$sided,
                          beta = 1 - pw, allocationRatioPlanned = r)
  rates[[length(rates) + 1]] <- list(
    input = list(p_treated = pp[1], p_control = pp[2], alpha = lv$alpha, power = pw,
                 sided = lv$sided, allocation_ratio = r, theta_h0 = 0),
    n_treated = s$nFixed1, n_control = s$nFixed2, n_total = s$nFixed)
}
for (th in c(-0.1, 0.05)) for (r in c(0.5, 1, 2)) {  # non-inferiority / superiority margin
  p1 <- if (th > 0) 0.7 else 0.5
  s <- getSampleSizeRates(pi1 = p1, pi2 = 0.45, thetaH0 = th, alpha = 0.025, beta = 0.2,
                          allocationRatioPlanned = r)
  rates[[length(rates) + 1]] <- list(
    input = list(p_treated = p1, p_control = 0.45, alpha = 0.025,
                 power = 0.8, sided = 1, allocation_ratio = r, theta_h0 = th),
    n_treated = s$nFixed1, n_control = s$nFixed2, n_total = s$nFixed)
}

# ---- getSampleSizeMeans (t distribution) ----------------------------------------------------
means <- list()
effects <- list(c(5, 12), c(1, 2), c(10, 8), c(-3, 10), c(0.25, 1))
for (ef in effects) for (lv in levels) for (pw in c(0.8, 0.9)) for (r in c(0.5, 1, 2, 3)) {
  s <- getSampleSizeMeans(alternative = abs(ef[1]), stDev = ef[2], alpha = lv$alpha,
                          sided = lv$sided, beta = 1 - pw, allocationRatioPlanned = r)
  means[[length(means) + 1]] <- list(
    input = list(difference = ef[1], sd = ef[2], alpha = lv$alpha, power = pw,
                 sided = lv$sided, allocation_ratio = r),
    n_treated = s$nFixed1, n_control = s$nFixed2, n_total = s$nFixed)
}

# ---- getSampleSizeSurvival (Schoenfeld; uniform accrual; exponential) ----------------------
surv <- list()
for (hr in c(0.5, 0.6, 0.75, 1.4)) for (ctl in list(list(median = 18), list(lambda = 0.1)))
  for (acc in c(12, 24)) for (fu in c(6, 12)) for (r in c(0.5, 1, 2)) for (dr in c(0, 0.1)) {
    lv <- if (hr == 0.6 && r == 1) levels[[3]] else levels[[1]]
    args <- list(hazardRatio = hr, accrualTime = acc, followUpTime = fu, alpha = lv$alpha,
                 sided = lv$sided, beta = 0.2, allocationRatioPlanned = r,
                 dropoutRate1 = dr, dropoutRate2 = dr, dropoutTime = 12)
    if (!is.null(ctl$median)) args$median2 <- ctl$median else args$lambda2 <- ctl$lambda
    s <- suppressWarnings(do.call(getSampleSizeSurvival, args))
    surv[[length(surv) + 1]] <- list(
      input = list(hazard_ratio = hr,
                   median_control = if (is.null(ctl$median)) NULL else ctl$median,
                   lambda_control = if (is.null(ctl$lambda)) NULL else ctl$lambda,
                   accrual_time = acc, follow_up_time = fu, alpha = lv$alpha, power = 0.8,
                   sided = lv$sided, allocation_ratio = r, dropout_rate = dr,
                   dropout_time = 12),
      events = s$eventsFixed, n_total = s$nFixed, n_treated = s$nFixed1,
      n_control = s$nFixed2)
  }

# ---- getDesignGroupSequential + getDesignCharacteristics ------------------------------------
gsd <- list()
rates_list <- list(c(0.5, 1), c(0.3, 0.6, 1), c(1/3, 2/3, 1), c(0.4, 0.7, 1), c(0.1, 0.5, 1),
                   c(0.25, 0.5, 0.75, 1), c(0.15, 0.35, 0.6, 1), c(0.2, 0.4, 0.6, 0.8, 1),
                   c(0.1, 0.3, 0.45, 0.8, 1))
spend <- list(list(s = "OF"), list(s = "P"), list(s = "HSD", g = -4), list(s = "HSD", g = -2),
              list(s = "HSD", g = 0), list(s = "HSD", g = 1), list(s = "HSD", g = 2))
add_gsd <- function(ir, sp, lv, beta, fut = NULL) {
  args <- list(informationRates = ir, alpha = lv$alpha, sided = lv$sided, beta = beta,
               typeOfDesign = paste0("as", sp$s))
  if (!is.null(sp$g)) args$gammaA <- sp$g
  if (!is.null(fut)) {
    args$typeBetaSpending <- paste0("bs", fut$s)
    if (!is.null(fut$g)) args$gammaB <- fut$g
    args$bindingFutility <- FALSE
  }
  d <- do.call(getDesignGroupSequential, args)
  ch <- getDesignCharacteristics(d)
  list(
    input = list(information_rates = ir, alpha = lv$alpha, beta = beta, sided = lv$sided,
                 spending = sp$s, gamma = if (is.null(sp$g)) NULL else sp$g,
                 futility = if (is.null(fut)) NULL else fut$s,
                 futility_gamma = if (is.null(fut$g)) NULL else fut$g),
    critical_values = d$criticalValues, alpha_spent = d$alphaSpent,
    stage_levels = d$stageLevels,
    futility_bounds = if (is.null(fut)) list() else d$futilityBounds,
    beta_spent = if (is.null(fut)) list() else d$betaSpent,
    inflation_factor = ch$inflationFactor, shift = ch$shift, n_fixed = ch$nFixed,
    power = ch$power, expected_sample_size_h1 = ch$averageSampleNumber1,
    expected_sample_size_h0 = ch$averageSampleNumber0)
}
i <- 0
for (ir in rates_list) for (sp in spend) {
  i <- i + 1
  lv <- levels[[(i %% 4) + 1]]
  beta <- if (i %% 3 == 0) 0.1 else 0.2
  gsd[[length(gsd) + 1]] <- add_gsd(ir, sp, lv, beta)
}
futs <- list(list(s = "OF"), list(s = "P"), list(s = "HSD", g = -2), list(s = "HSD", g = 1))
i <- 0
for (ir in rates_list[c(1, 2, 4, 6, 8)]) for (sp in spend[c(1, 2, 4)]) for (fu in futs) {
  i <- i + 1
  lv <- if (i %% 2 == 0) levels[[1]] else levels[[2]]
  gsd[[length(gsd) + 1]] <- add_gsd(ir, sp, lv, if (i %% 3 == 0) 0.1 else 0.2, fu)
}

# edge cases: stages that spend almost nothing (rpact reports an infinite bound), futility
# floored at -6, ten stages, extreme HSD gammas, large beta
edge <- list(
  list(ir = c(0.05, 1), sp = list(s = "OF"), lv = levels[[1]], b = 0.2, fu = NULL),
  list(ir = c(0.02, 0.5, 1), sp = list(s = "OF"), lv = levels[[1]], b = 0.2, fu = NULL),
  list(ir = c(0.02, 0.5, 1), sp = list(s = "OF"), lv = levels[[1]], b = 0.2,
       fu = list(s = "OF")),
  list(ir = seq(0.1, 1, 0.1), sp = list(s = "P"), lv = levels[[1]], b = 0.2, fu = NULL),
  list(ir = c(0.3, 0.6, 1), sp = list(s = "HSD", g = -10), lv = levels[[1]], b = 0.2,
       fu = NULL),
  list(ir = c(0.3, 0.6, 1), sp = list(s = "HSD", g = 5), lv = list(alpha = 0.1, sided = 2),
       b = 0.1, fu = NULL),
  list(ir = c(0.2, 0.5, 1), sp = list(s = "OF"), lv = levels[[1]], b = 0.2,
       fu = list(s = "P")),
  list(ir = c(0.5, 0.75, 1), sp = list(s = "P"), lv = levels[[1]], b = 0.1,
       fu = list(s = "HSD", g = -4)),
  list(ir = c(0.1, 0.2, 1), sp = list(s = "OF"), lv = levels[[1]], b = 0.3,
       fu = list(s = "P")),
  list(ir = c(0.6, 0.8, 1), sp = list(s = "OF"), lv = levels[[2]], b = 0.2,
       fu = list(s = "HSD", g = 3)))
for (e in edge) gsd[[length(gsd) + 1]] <- add_gsd(e$ir, e$sp, e$lv, e$b, e$fu)

# ---- sample sizes with a group-sequential design (maximum = fixed x inflation factor) --------
seq_ss <- list()
seq_designs <- list(
  list(ir = c(0.3, 0.6, 1), sp = list(s = "OF"), lv = levels[[1]], b = 0.2, fu = NULL),
  list(ir = c(0.5, 1), sp = list(s = "P"), lv = levels[[3]], b = 0.1, fu = NULL),
  list(ir = c(0.25, 0.5, 0.75, 1), sp = list(s = "HSD", g = -2), lv = levels[[2]], b = 0.2,
       fu = list(s = "OF")))
for (e in seq_designs) {
  args <- list(informationRates = e$ir, alpha = e$lv$alpha, sided = e$lv$sided, beta = e$b,
               typeOfDesign = paste0("as", e$sp$s))
  if (!is.null(e$sp$g)) args$gammaA <- e$sp$g
  if (!is.null(e$fu)) args$typeBetaSpending <- paste0("bs", e$fu$s)
  d <- do.call(getDesignGroupSequential, args)
  din <- list(information_rates = e$ir, alpha = e$lv$alpha, beta = e$b, sided = e$lv$sided,
              spending = e$sp$s, gamma = e$sp$g, futility = e$fu$s)
  for (r in c(0.5, 1, 2)) {
    s <- getSampleSizeRates(d, pi1 = 0.45, pi2 = 0.25, allocationRatioPlanned = r)
    seq_ss[[length(seq_ss) + 1]] <- list(kind = "rates", design = din,
      input = list(p_treated = 0.45, p_control = 0.25, allocation_ratio = r),
      n_treated = s$maxNumberOfSubjects1, n_control = s$maxNumberOfSubjects2,
      n_total = s$maxNumberOfSubjects, n_total_by_stage = s$numberOfSubjects,
      expected_n_total_h1 = s$expectedNumberOfSubjectsH1)
    s <- getSampleSizeMeans(d, alternative = 5, stDev = 12, allocationRatioPlanned = r)
    seq_ss[[length(seq_ss) + 1]] <- list(kind = "means", design = din,
      input = list(difference = 5, sd = 12, allocation_ratio = r),
      n_treated = s$maxNumberOfSubjects1, n_control = s$maxNumberOfSubjects2,
      n_total = s$maxNumberOfSubjects, n_total_by_stage = s$numberOfSubjects,
      expected_n_total_h1 = s$expectedNumberOfSubjectsH1)
    s <- suppressWarnings(getSampleSizeSurvival(d, hazardRatio = 0.6, median2 = 18,
                                                accrualTime = 24, followUpTime = 12,
                                                allocationRatioPlanned = r))
    seq_ss[[length(seq_ss) + 1]] <- list(kind = "survival", design = din,
      input = list(hazard_ratio = 0.6, median_control = 18, accrual_time = 24,
                   follow_up_time = 12, allocation_ratio = r),
      n_treated = s$maxNumberOfSubjects1, n_control = s$maxNumberOfSubjects2,
      n_total = s$maxNumberOfSubjects, events = s$maxNumberOfEvents,
      events_by_stage = s$eventsPerStage)
  }
}

# ---- getConditionalPower (inverse normal, means) ---------------------------------------------
cp <- list()
cp_cases <- list(
  list(ir = c(0.5, 1), sp = "OF", fut = NULL, n = c(30, 30), m = c(1.1, 0.5), sdv = c(2, 2.2),
       np = c(120), th = 0.6, sd = 2, r = 1),
  list(ir = c(0.5, 1), sp = "P", fut = "OF", n = c(25, 25), m = c(1.4, 0.6), sdv = c(2, 2),
       np = c(80), th = 0.5, sd = 2.1, r = 1),
  list(ir = c(0.3, 0.6, 1), sp = "OF", fut = NULL, n = c(20, 20), m = c(3, 1), sdv = c(4, 4),
       np = c(40, 60), th = 1.5, sd = 4, r = 1),
  list(ir = c(0.3, 0.6, 1), sp = "OF", fut = "P", n = c(30, 15), m = c(2.5, 1), sdv = c(4, 4),
       np = c(45, 60), th = 1.8, sd = 4, r = 2),
  list(ir = c(0.25, 0.5, 0.75, 1), sp = "HSD", fut = NULL, n = c(18, 18), m = c(0.7, 0.2),
       sdv = c(1, 1.1), np = c(36, 36, 36), th = 0.4, sd = 1, r = 0.5))
for (cs in cp_cases) {
  args <- list(kMax = length(cs$ir), informationRates = cs$ir, alpha = 0.025, sided = 1,
               typeOfDesign = paste0("as", cs$sp))
  if (cs$sp == "HSD") args$gammaA <- -2
  if (!is.null(cs$fut)) {args$typeBetaSpending <- paste0("bs", cs$fut)}
  design <- do.call(getDesignInverseNormal, args)
  data <- getDataset(n1 = cs$n[1], n2 = cs$n[2], means1 = cs$m[1], means2 = cs$m[2],
                     stDevs1 = cs$sdv[1], stDevs2 = cs$sdv[2])
  sr <- getStageResults(design, dataInput = data, stage = 1)
  res <- getConditionalPower(sr, nPlanned = cs$np, thetaH1 = cs$th, assumedStDev = cs$sd,
                             allocationRatioPlanned = cs$r)
  cp[[length(cp) + 1]] <- list(
    input = list(information_rates = cs$ir, spending = cs$sp,
                 gamma = if (cs$sp == "HSD") -2 else NULL, futility = cs$fut,
                 z_stages = qnorm(1 - sr$pValues[1]), n_planned = cs$np,
                 effect = cs$th / cs$sd, allocation_ratio = cs$r),
    futility_bounds = design$futilityBounds,
    critical_values = design$criticalValues,
    conditional_power = res$conditionalPower[(2):length(cs$ir)])
}

# ---- exact single-arm binomial: brute force with pbinom -------------------------------------
single <- list()
for (p in list(c(0.15, 0.35), c(0.05, 0.2), c(0.1, 0.3), c(0.2, 0.4), c(0.3, 0.5),
               c(0.5, 0.7), c(0.6, 0.75), c(0.4, 0.55)))
  for (a in c(0.025, 0.05)) for (pw in c(0.8, 0.9)) {
    for (n in 1:5000) {
      crit <- 0:(n + 1)
      ok <- which(pbinom(crit - 1, n, p[1], lower.tail = FALSE) <= a)
      r <- crit[min(ok)]
      if (r > n) next
      power <- pbinom(r - 1, n, p[2], lower.tail = FALSE)
      if (power >= pw) break
    }
    single[[length(single) + 1]] <- list(
      input = list(p0 = p[1], p1 = p[2], alpha = a, power = pw), n = n, critical = r,
      size = pbinom(r - 1, n, p[1], lower.tail = FALSE), achieved_power = power)
  }

# ---- power with given group sizes: pwr and rpact --------------------------------------------
pw_rates <- list(); pw_means <- list(); pw_surv <- list()
for (nn in list(c(49, 102), c(60, 120), c(30, 30), c(100, 50))) for (lv in levels[1:3]) {
  for (pp in list(c(0.45, 0.25), c(0.3, 0.5))) {
    h <- ES.h(pp[1], pp[2])
    alt <- if (lv$sided == 2) "two.sided" else "greater"
    pa <- pwr.2p2n.test(h = abs(h), n1 = nn[1], n2 = nn[2], sig.level = lv$alpha,
                        alternative = alt)$power
    pn <- getPowerRates(pi1 = pp[1], pi2 = pp[2], maxNumberOfSubjects = sum(nn),
                        allocationRatioPlanned = nn[1] / nn[2], alpha = lv$alpha,
                        sided = lv$sided, directionUpper = pp[1] > pp[2])$overallReject
    pw_rates[[length(pw_rates) + 1]] <- list(
      input = list(p_treated = pp[1], p_control = pp[2], n_treated = nn[1],
                   n_control = nn[2], alpha = lv$alpha, sided = lv$sided),
      power_arcsine = pa, power_normal = pn)
  }
  for (ef in list(c(5, 12), c(-0.5, 1))) {
    alt <- if (lv$sided == 2) "two.sided" else "greater"
    pm <- pwr.t2n.test(d = abs(ef[1]) / ef[2], n1 = nn[1], n2 = nn[2], sig.level = lv$alpha,
                       alternative = alt)$power
    pw_means[[length(pw_means) + 1]] <- list(
      input = list(difference = ef[1], sd = ef[2], n_treated = nn[1], n_control = nn[2],
                   alpha = lv$alpha, sided = lv$sided), power = pm)
  }
  for (hr in c(0.6, 0.75)) {
    r <- nn[1] / nn[2]
    ev <- round(sum(nn) * 0.6)
    ps <- getPowerSurvival(hazardRatio = hr, lambda2 = 0.05, maxNumberOfEvents = ev,
                           maxNumberOfSubjects = sum(nn), accrualTime = 24, alpha = lv$alpha,
                           sided = lv$sided, allocationRatioPlanned = r,
                           directionUpper = FALSE)$overallReject
    pw_surv[[length(pw_surv) + 1]] <- list(
      input = list(hazard_ratio = hr, events = ev, alpha = lv$alpha, sided = lv$sided,
                   allocation_ratio = r), power = ps)
  }
}

out <- list(
  source = paste("R", R.version$major, R.version$minor, "rpact",
                 as.character(packageVersion("rpact")), "pwr",
                 as.character(packageVersion("pwr"))),
  sample_size_rates = rates, sample_size_means = means, sample_size_survival = surv,
  group_sequential = gsd, sample_size_sequential = seq_ss, conditional_power = cp, single_arm = single,
  power_rates = pw_rates, power_means = pw_means, power_survival = pw_surv)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", pretty = TRUE),
           "design_reference.json")
cat("cases:", length(rates), length(means), length(surv), length(gsd), length(cp),
    length(single), length(pw_rates), length(pw_means), length(pw_surv), "\n")
