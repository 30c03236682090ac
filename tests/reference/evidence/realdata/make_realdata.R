# Differential references on public real data shipped with R (issue 14).
#   R_LIBS=/opt/rlib Rscript make_realdata.R   (run in this folder; MatchIt 4.7.2, survival)
# Writes the data sets as CSV and every R figure to realdata.json.
suppressMessages({library(MatchIt); library(survival); library(MASS); library(jsonlite)})
stopifnot(packageVersion("MatchIt") >= "4.5.4")
source("realdata_functions.R")  # num, coefs, sets_of, cx, km

# ---- propensity + matching: lalonde with a calendar year, a 3-level factor ----------------
data("lalonde", package = "MatchIt")
lal <- lalonde
lal$id <- rownames(lal)
# A calendar year of enrolment (2016-2025), deterministic in the row and related to treatment
lal$year <- 2016L + as.integer((seq_len(nrow(lal)) * 7L + lal$treat * 3L + lal$age) %% 10L)
write.csv(lal, "lalonde_year.csv", row.names = FALSE)
rownames(lal) <- lal$id
fl <- treat ~ age + educ + race + married + nodegree + re74 + re75 + year
g <- glm(fl, data = lal, family = binomial)
configs <- list(
  r1_ps = list(ratio = 1),
  r1_cal02_logit = list(ratio = 1, caliper = 0.2, link = "linear.logit"),
  r2_cal01_ps = list(ratio = 2, caliper = 0.1),
  r3_logit = list(ratio = 3, link = "linear.logit"),
  r1_replace_cal02_ps = list(ratio = 1, replace = TRUE, caliper = 0.2),
  r2_replace_logit = list(ratio = 2, replace = TRUE, link = "linear.logit")
)
matches <- lapply(configs, function(a) {
  m <- do.call(matchit, c(list(formula = fl, data = lal, method = "nearest", distance = "glm"), a))
  list(args = a, sets = sets_of(m), weights = as.list(m$weights[m$weights > 0]))
})

# birthwt: race is a 3-level factor; a year of birth (large mean) and the mother's age in days
bw <- MASS::birthwt
bw$race <- factor(c("white", "black", "other")[bw$race], levels = c("white", "black", "other"))
bw$id <- paste0("b", seq_len(nrow(bw)))
bw$year <- 2016L + as.integer((seq_len(nrow(bw)) * 3L + bw$smoke * 4L) %% 10L)
bw$age_days <- bw$age * 365.25
write.csv(bw, "birthwt.csv", row.names = FALSE)
gb <- glm(smoke ~ age_days + lwt + race + ptl + ht + ui + year, data = bw, family = binomial)

# ---- Cox ------------------------------------------------------------------------------------
pbc2 <- survival::pbc[!is.na(survival::pbc$trt), c("id", "time", "status", "trt", "age", "sex",
                                                    "bili", "albumin", "protime", "edema")]
pbc2$event <- as.integer(pbc2$status == 2)
pbc2$bili_g <- pbc2$bili / 1000        # g/dL instead of mg/dL
pbc2$bili_10 <- pbc2$bili / 10
pbc2$age_days <- pbc2$age * 365.25
pbc2$female <- as.integer(pbc2$sex == "f")
write.csv(pbc2, "pbc.csv", row.names = FALSE)
colon2 <- survival::colon[survival::colon$etype == 2, c("id", "time", "status", "rx", "sex",
                                                        "age", "nodes", "differ")]
colon2 <- colon2[complete.cases(colon2), ]
colon2$lev <- as.integer(colon2$rx == "Lev")
colon2$lev5fu <- as.integer(colon2$rx == "Lev+5FU")
colon2$site <- (colon2$id %% 23)   # a cluster for the robust variance
write.csv(colon2, "colon.csv", row.names = FALSE)
vet <- survival::veteran
vet$time0 <- vet$time - 1      # two deaths on day 0
vet$squamous <- as.integer(vet$celltype == "squamous")
vet$smallcell <- as.integer(vet$celltype == "smallcell")
vet$adeno <- as.integer(vet$celltype == "adeno")
vet$id <- seq_len(nrow(vet))
write.csv(vet, "veteran.csv", row.names = FALSE)
lung2 <- survival::lung[complete.cases(survival::lung[, c("time", "status", "age", "sex", "ph.ecog")]),
                        c("inst", "time", "status", "age", "sex", "ph.ecog")]
lung2$event <- as.integer(lung2$status == 2)
lung2$inst[is.na(lung2$inst)] <- 0
write.csv(lung2, "lung.csv", row.names = FALSE)

cox <- list(
  cx("pbc_bili_g", coxph(Surv(time, event) ~ bili_g + age + albumin, pbc2), "pbc", "time", "event",
     c("bili_g", "age", "albumin")),
  cx("pbc_bili_10_days", coxph(Surv(time, event) ~ bili_10 + age_days + edema + protime, pbc2),
     "pbc", "time", "event", c("bili_10", "age_days", "edema", "protime")),
  cx("pbc_strata_breslow", coxph(Surv(time, event) ~ bili + albumin + trt + strata(female), pbc2,
     ties = "breslow"), "pbc", "time", "event", c("bili", "albumin", "trt"), strata = "female",
     ties = "breslow"),
  cx("colon_factor_cluster", coxph(Surv(time, status) ~ lev + lev5fu + age + nodes + cluster(site),
     colon2), "colon", "time", "status", c("lev", "lev5fu", "age", "nodes"), cluster = "site"),
  cx("veteran_time0", coxph(Surv(time0, status) ~ trt + karno + squamous + smallcell + adeno, vet),
     "veteran", "time0", "status", c("trt", "karno", "squamous", "smallcell", "adeno")),
  cx("veteran_time0_breslow", coxph(Surv(time0, status) ~ trt + karno, vet, ties = "breslow"),
     "veteran", "time0", "status", c("trt", "karno"), ties = "breslow"),
  cx("lung_strata_inst", coxph(Surv(time, event) ~ age + sex + ph.ecog + strata(inst), lung2),
     "lung", "time", "event", c("age", "sex", "ph.ecog"), strata = "inst")
)

# ---- Kaplan-Meier at several times ----------------------------------------------------------
kms <- list(
  km("lung_sex", survfit(Surv(time, event) ~ sex, lung2), "lung", "time", "event", "sex",
     c(30, 180, 365, 540, 730)),
  km("veteran_time0_trt", survfit(Surv(time0, status) ~ trt, vet), "veteran", "time0", "status",
     "trt", c(0, 10, 50, 100, 200, 400)),
  km("colon_lev", survfit(Surv(time, status) ~ lev, colon2), "colon", "time", "status", "lev",
     c(100, 500, 1000, 2000, 3000))
)

out <- list(
  versions = list(R = R.version.string, MatchIt = as.character(packageVersion("MatchIt")),
                  survival = as.character(packageVersion("survival"))),
  propensity = list(
    lalonde = c(list(data = "lalonde_year", formula = deparse(fl)), coefs(g),
                list(fitted = num(fitted(g)), deviance = num(deviance(g)))),
    birthwt = c(list(data = "birthwt"), coefs(gb),
                list(fitted = num(fitted(gb)), deviance = num(deviance(gb))))),
  matching = matches, cox = cox, km = kms)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null"), "realdata.json")
print(summary(coxph(Surv(time, event) ~ bili_g + age + albumin, pbc2))$coefficients)
