# More differential references on public real data (issue 14): rotterdam (a real calendar
# year of surgery, a 3-level factor, receptor levels in fmol/l), colon with both event types
# (cluster by patient), lung (Breslow), veteran (a 4-level factor with strata), birthwt
# matching, KM at several times.
#   R_LIBS=/opt/rlib Rscript make_realdata_more.R   (in this folder; MatchIt 4.7.2, survival)
# Writes rotterdam.csv, colon_both.csv, lung_full.csv, veteran_factor.csv and
# realdata_more.json. Factor levels are stored in R's order (the tests use them).
suppressMessages({library(MatchIt); library(survival); library(MASS); library(jsonlite)})
stopifnot(packageVersion("MatchIt") >= "4.5.4")
source("realdata_functions.R")  # num, coefs, sets_of, cx, km

rot <- survival::rotterdam
rot$id <- paste0("r", rot$pid)
rot$age_days <- rot$age * 365.25
rot$site <- rot$pid %% 40                # a cluster for the robust variance
write.csv(rot, "rotterdam.csv", row.names = FALSE)
rownames(rot) <- rot$id
bw <- read.csv("birthwt.csv")
bw$race <- factor(bw$race, levels = c("white", "black", "other"))
rownames(bw) <- bw$id

# ---- propensity: hormonal therapy on rotterdam, with the year of surgery -------------------
fr <- hormon ~ age + meno + size + grade + nodes + pgr + er + chemo + year
gr <- glm(fr, data = rot, family = binomial)
fb <- smoke ~ age_days + lwt + race + ptl + ht + ui + year

match_cases <- list(
  list(data = "rotterdam", args = list(ratio = 1, caliper = 0.2, link = "linear.logit")),
  list(data = "rotterdam", args = list(ratio = 1, caliper = 0.05)),
  list(data = "rotterdam", args = list(ratio = 2, caliper = 0.2, link = "linear.logit")),
  list(data = "rotterdam", args = list(ratio = 3)),
  list(data = "rotterdam", args = list(ratio = 1, replace = TRUE, caliper = 0.1,
                                       link = "linear.logit")),
  list(data = "rotterdam", args = list(ratio = 2, replace = TRUE, caliper = 0.05)),
  list(data = "rotterdam", args = list(ratio = 1, caliper = 0.2, link = "linear.logit",
                                       m.order = "smallest")),
  list(data = "birthwt", args = list(ratio = 1, caliper = 0.2, link = "linear.logit")),
  list(data = "birthwt", args = list(ratio = 2, replace = TRUE, caliper = 0.1)),
  list(data = "birthwt", args = list(ratio = 1, replace = TRUE, link = "linear.logit")))
matches <- lapply(match_cases, function(mc) {
  d <- if (mc$data == "rotterdam") rot else bw
  f <- if (mc$data == "rotterdam") fr else fb
  m <- do.call(matchit, c(list(formula = f, data = d, method = "nearest", distance = "glm"),
                          mc$args))
  list(data = mc$data, args = mc$args, sets = sets_of(m),
       weights = as.list(m$weights[m$weights > 0]))
})

# ---- Cox --------------------------------------------------------------------------------------
colon_both <- survival::colon[complete.cases(survival::colon[, c("time", "status", "rx", "sex",
                                                                  "age", "nodes")]), ]
colon_both$etype <- as.integer(colon_both$etype)
write.csv(colon_both, "colon_both.csv", row.names = FALSE)
lung3 <- survival::lung[complete.cases(survival::lung[, c("time", "status", "age", "sex",
                                                          "ph.karno", "wt.loss", "ph.ecog")]), ]
lung3$event <- as.integer(lung3$status == 2)
names(lung3) <- gsub(".", "_", names(lung3), fixed = TRUE)
write.csv(lung3, "lung_full.csv", row.names = FALSE)
vet <- survival::veteran
write.csv(vet, "veteran_factor.csv", row.names = FALSE)

size_lev <- list(size = levels(rot$size))
rx_lev <- list(rx = levels(colon_both$rx))
cell_lev <- list(celltype = levels(vet$celltype))
cox <- list(
  cx("rotterdam_year_factor", coxph(Surv(dtime, death) ~ hormon + chemo + age + size + nodes +
       pgr + er + year, rot), "rotterdam", "dtime", "death",
     c("hormon", "chemo", "age", "size", "nodes", "pgr", "er", "year"), levels = size_lev),
  cx("rotterdam_breslow_days", coxph(Surv(rtime, recur) ~ hormon + age_days + size + pgr + er,
       rot, ties = "breslow"), "rotterdam", "rtime", "recur",
     c("hormon", "age_days", "size", "pgr", "er"), ties = "breslow", levels = size_lev),
  cx("rotterdam_strata_cluster", coxph(Surv(dtime, death) ~ hormon + age + nodes + year +
       strata(grade) + cluster(site), rot), "rotterdam", "dtime", "death",
     c("hormon", "age", "nodes", "year"), strata = "grade", cluster = "site"),
  cx("colon_both_cluster_id", coxph(Surv(time, status) ~ rx + sex + age + nodes + etype +
       cluster(id), colon_both), "colon_both", "time", "status",
     c("rx", "sex", "age", "nodes", "etype"), cluster = "id", levels = rx_lev),
  cx("colon_both_strata_etype", coxph(Surv(time, status) ~ rx + age + nodes + strata(etype) +
       cluster(id), colon_both, ties = "breslow"), "colon_both", "time", "status",
     c("rx", "age", "nodes"), strata = "etype", cluster = "id", ties = "breslow",
     levels = rx_lev),
  cx("lung_breslow", coxph(Surv(time, event) ~ age + sex + ph_karno + wt_loss, lung3,
       ties = "breslow"), "lung_full", "time", "event", c("age", "sex", "ph_karno", "wt_loss"),
     ties = "breslow"),
  cx("lung_efron_ecog", coxph(Surv(time, event) ~ age + sex + ph_ecog + wt_loss, lung3),
     "lung_full", "time", "event", c("age", "sex", "ph_ecog", "wt_loss")),
  cx("veteran_celltype_strata", coxph(Surv(time, status) ~ trt + karno + celltype +
       strata(prior), vet), "veteran_factor", "time", "status", c("trt", "karno", "celltype"),
     strata = "prior", levels = cell_lev))

# ---- Kaplan-Meier at several times ------------------------------------------------------------
kms <- list(
  km("rotterdam_hormon", survfit(Surv(dtime, death) ~ hormon, rot), "rotterdam", "dtime",
     "death", "hormon", c(365, 1000, 2000, 3650, 5000, 7000)),
  km("rotterdam_grade_recur", survfit(Surv(rtime, recur) ~ grade, rot), "rotterdam", "rtime",
     "recur", "grade", c(100, 730, 1826, 3652)),
  km("lung_ecog", survfit(Surv(time, event) ~ ph_ecog, lung3), "lung_full", "time", "event",
     "ph_ecog", c(5, 60, 200, 400, 700)),
  km("colon_both_etype", survfit(Surv(time, status) ~ etype, colon_both), "colon_both", "time",
     "status", "etype", c(8, 365, 1000, 2000, 3000)))

out <- list(
  versions = list(R = R.version.string, MatchIt = as.character(packageVersion("MatchIt")),
                  survival = as.character(packageVersion("survival"))),
  propensity = list(rotterdam = c(list(data = "rotterdam", levels = size_lev,
                                       formula = deparse(fr)), coefs(gr),
                                  list(fitted = num(fitted(gr)), deviance = num(deviance(gr))))),
  matching = matches, cox = cox, km = kms)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null"), "realdata_more.json")
cat(length(matches), "matchings,", length(cox), "Cox fits,", length(kms), "KM\n")
