// SPDX-License-Identifier: Apache-2.0
/* capgate check: the static gate in CI. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <capgate/policy.h>

#include "../cli.h"

static const char usage[] = "[--policy FILE] [options] INPUT...";
static const char desc[] =
	"Check workloads against a policy before they run. An INPUT is a seccomp profile or capgate\n"
	"closure, a Kubernetes manifest (YAML or JSON, multi-document: Pod, Deployment, StatefulSet,\n"
	"DaemonSet, ReplicaSet, Job, CronJob, List), an OCI image layout directory, or a docker-archive\n"
	"tarball (.tar). --image REF checks a bare image reference (registry, digest pinning).\n"
	"Without --policy the built-in policy applies: gVisor baseline, at most 35 calls (serving\n"
	"phase), dangerous risk classes denied, every Pod names a seccomp profile.\n"
	"Exit status: 0 every input passes, 1 any fails, 2 usage or input error.";

struct results {
	struct cg_verdict *v;
	size_t n, cap;
};

static struct cg_verdict *results_next(struct results *res)
{
	if (res->n == res->cap) {
		size_t ncap = res->cap ? res->cap * 2 : 64;
		struct cg_verdict *nv = realloc(res->v, ncap * sizeof(*nv));
		if (!nv)
			return NULL;
		res->v = nv;
		res->cap = ncap;
	}
	return &res->v[res->n];
}

static int check_file(const struct cg_policy *p, const char *path, const struct cg_eval_env *env,
		      struct results *res)
{
	_cleanup_free_ char *buf = NULL;
	struct cg_error err = { 0 };
	size_t len;
	struct stat st;

	size_t plen = strlen(path);
	bool layout = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
	if (layout || (plen > 4 && strcmp(path + plen - 4, ".tar") == 0)) {
		/* an image: an OCI layout directory or a docker-archive */
		struct cg_image *img = NULL;
		struct cg_verdict *v = results_next(res);
		int r;
		if (!v)
			return -ENOMEM;
		r = layout ? cg_image_open_layout(path, NULL, &img, &err) : cg_image_open_archive(path, NULL, &img, &err);
		if (r == 0)
			r = cg_policy_eval_image(p, img, NULL, layout ? path : NULL, v, &err);
		cg_image_free(img);
		if (r < 0) {
			cli_error("check", "%s", err.msg);
			return -EINVAL;
		}
		res->n++;
		return 0;
	}
	if (cg_read_file(path, &buf, &len, &err) < 0) {
		cli_error("check", "%s", err.msg);
		return -EINVAL;
	}
	if (cg_profile_sniff(buf, len)) {
		struct cg_profile **ps = NULL;
		size_t n = 0;
		if (cg_profile_parse_all(buf, len, path, &ps, &n, &err) < 0) {
			cli_error("check", "%s", err.msg);
			return -EINVAL;
		}
		int r = 0;
		for (size_t i = 0; i < n; i++) {
			struct cg_closure *c = NULL;
			struct cg_verdict *v = r == 0 ? results_next(res) : NULL;
			char subject[1024];
			snprintf(subject, sizeof(subject), "%s%s%s", path, ps[i]->name ? "#" : "", ps[i]->name ? ps[i]->name : "");
			if (!v)
				r = r ? r : -ENOMEM;
			else if (cg_profile_resolve(ps[i], env->resolve, &c, &err) < 0 || cg_policy_eval_closure(p, c, subject, v, &err) < 0) {
				cli_error("check", "%s", err.msg);
				r = -EINVAL;
			} else {
				res->n++;
			}
			cg_closure_free(c);
			cg_profile_free(ps[i]);
		}
		free(ps);
		return r;
	}
	struct cg_k8s_workload **ws = NULL;
	size_t n = 0, skipped = 0;
	if (cg_k8s_parse(buf, len, path, &ws, &n, &skipped, &err) < 0) {
		cli_error("check", "%s", err.msg);
		return -EINVAL;
	}
	if (n == 0 && skipped == 0) {
		cli_error("check", "%s: neither a seccomp profile nor a Kubernetes workload", path);
		return -EINVAL;
	}
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		struct cg_verdict *v = results_next(res);
		if (!v || cg_policy_eval_workload(p, ws[i], env, v, &err) < 0) {
			cli_error("check", "%s", v ? err.msg : "out of memory");
			r = -ENOMEM;
		} else {
			res->n++;
		}
	}
	cg_k8s_workloads_free(ws, n);
	return r;
}

/* ---- output ---------------------------------------------------------------- */

static void out_text(const struct results *res, const struct cg_policy *p, struct cg_strbuf *sb, bool quiet)
{
	size_t pass = 0, fail = 0, exempt = 0;
	for (size_t i = 0; i < res->n; i++) {
		const struct cg_verdict *v = &res->v[i];
		if (v->exempt) {
			exempt++;
			if (!quiet)
				cg_strbuf_addf(sb, "exempt  %s (%s)\n", v->subject, v->file ? v->file : "");
			continue;
		}
		if (cg_verdict_allowed(v)) {
			pass++;
			if (!quiet)
				cg_strbuf_addf(sb, "pass    %s\n", v->subject);
			continue;
		}
		fail++;
		cg_strbuf_addf(sb, "FAIL    %s\n", v->subject);
		for (size_t k = 0; k < v->n_findings; k++) {
			const struct cg_finding *f = &v->findings[k];
			if (f->file && f->pos.line)
				cg_strbuf_addf(sb, "  %s:%d:%d: %s [%s]\n", f->file, f->pos.line, f->pos.col, f->msg, f->rule);
			else if (f->file)
				cg_strbuf_addf(sb, "  %s: %s [%s]\n", f->file, f->msg, f->rule);
			else
				cg_strbuf_addf(sb, "  %s [%s]\n", f->msg, f->rule);
		}
	}
	cg_strbuf_addf(sb, "%zu checked against %s: %zu passed, %zu failed, %zu exempt\n", res->n, p->source, pass, fail,
		       exempt);
}

static void json_str(struct cg_strbuf *sb, const char *s) { cg_strbuf_add_json_str(sb, s ? s : ""); }

static void out_json(const struct results *res, const struct cg_policy *p, struct cg_strbuf *sb)
{
	size_t fail = 0;
	cg_strbuf_addf(sb, "{\"policy\":");
	json_str(sb, p->source);
	cg_strbuf_addf(sb, ",\"verdicts\":[");
	for (size_t i = 0; i < res->n; i++) {
		const struct cg_verdict *v = &res->v[i];
		bool ok = v->exempt || cg_verdict_allowed(v);
		fail += !ok;
		cg_strbuf_addf(sb, "%s\n{\"subject\":", i ? "," : "");
		json_str(sb, v->subject);
		cg_strbuf_addf(sb, ",\"kind\":");
		json_str(sb, v->kind);
		cg_strbuf_addf(sb, ",\"file\":");
		json_str(sb, v->file);
		cg_strbuf_addf(sb, ",\"allowed\":%s,\"exempt\":%s,\"findings\":[", ok ? "true" : "false",
			       v->exempt ? "true" : "false");
		for (size_t k = 0; k < v->n_findings; k++) {
			const struct cg_finding *f = &v->findings[k];
			cg_strbuf_addf(sb, "%s{\"rule\":", k ? "," : "");
			json_str(sb, f->rule);
			cg_strbuf_addf(sb, ",\"message\":");
			json_str(sb, f->msg);
			cg_strbuf_addf(sb, ",\"file\":");
			json_str(sb, f->file);
			cg_strbuf_addf(sb, ",\"line\":%d,\"column\":%d,\"path\":", f->pos.line, f->pos.col);
			json_str(sb, f->path);
			cg_strbuf_addf(sb, "}");
		}
		cg_strbuf_addf(sb, "]}");
	}
	cg_strbuf_addf(sb, "\n],\"summary\":{\"checked\":%zu,\"failed\":%zu}}\n", res->n, fail);
}

static const char *const rule_help[][2] = {
	{ "closure-digest-mismatch", "the attached closure is not the one the image label names" },
	{ "closure-missing", "the image names a closure digest but carries no closure" },
	{ "closure-too-large", "the closure has more calls than the policy's bound" },
	{ "closure-unknown", "the image declares no syscalls and carries no closure" },
	{ "image-not-pinned", "the image reference is not pinned by digest" },
	{ "invalid-closure", "the attached closure does not parse" },
	{ "invalid-image-reference", "the image reference does not parse" },
	{ "permissive-profile", "the profile's default action permits every call not listed" },
	{ "profile-missing", "the Localhost seccomp profile cannot be found or read" },
	{ "profile-path", "the Localhost profile path leaves the profile directory" },
	{ "profile-unchecked", "the Localhost profile's contents cannot be checked" },
	{ "risk-class-denied", "a call of a denied risk class is permitted" },
	{ "seccomp-profile", "the Pod Security Standards seccomp rule is not met" },
	{ "syscall-denied", "a call the policy denies is permitted" },
	{ "syscall-not-allowed", "a permitted call is outside the allowed baseline" },
	{ "undeclared-call", "the Localhost profile permits a call the pod's io.capgate.syscalls annotation does not declare" },
	{ "unknown-syscall", "an image label or pod annotation names a syscall capgate does not know" },
	{ "unsigned-image", "the image has no valid signature from a trusted key" },
	{ "untrusted-registry", "the image is not from a trusted registry" },
};

static void out_sarif(const struct results *res, struct cg_strbuf *sb)
{
	cg_strbuf_addf(sb, "{\"$schema\":\"https://json.schemastore.org/sarif-2.1.0.json\",\"version\":\"2.1.0\","
			   "\"runs\":[{\"tool\":{\"driver\":{\"name\":\"capgate\",\"informationUri\":"
			   "\"https://capgate.io\",\"rules\":[");
	for (size_t i = 0; i < CG_ARRAY_SIZE(rule_help); i++) {
		cg_strbuf_addf(sb, "%s{\"id\":\"%s\",\"shortDescription\":{\"text\":", i ? "," : "", rule_help[i][0]);
		json_str(sb, rule_help[i][1]);
		cg_strbuf_addf(sb, "}}");
	}
	cg_strbuf_addf(sb, "]}},\"results\":[");
	bool first = true;
	for (size_t i = 0; i < res->n; i++) {
		const struct cg_verdict *v = &res->v[i];
		if (v->exempt)
			continue;
		for (size_t k = 0; k < v->n_findings; k++) {
			const struct cg_finding *f = &v->findings[k];
			const char *file = f->file ? f->file : v->file;
			cg_strbuf_addf(sb, "%s\n{\"ruleId\":", first ? "" : ",");
			first = false;
			json_str(sb, f->rule);
			cg_strbuf_addf(sb, ",\"level\":\"error\",\"message\":{\"text\":");
			json_str(sb, f->msg);
			cg_strbuf_addf(sb, "}");
			if (file) {
				cg_strbuf_addf(sb, ",\"locations\":[{\"physicalLocation\":{\"artifactLocation\":{\"uri\":");
				json_str(sb, file);
				cg_strbuf_addf(sb, "}");
				if (f->pos.line)
					cg_strbuf_addf(sb, ",\"region\":{\"startLine\":%d,\"startColumn\":%d}", f->pos.line,
						       f->pos.col ? f->pos.col : 1);
				cg_strbuf_addf(sb, "}");
				if (f->subject) {
					cg_strbuf_addf(sb, ",\"logicalLocations\":[{\"fullyQualifiedName\":");
					json_str(sb, f->subject);
					cg_strbuf_addf(sb, "}]");
				}
				cg_strbuf_addf(sb, "}]");
			}
			cg_strbuf_addf(sb, "}");
		}
	}
	cg_strbuf_addf(sb, "\n]}]}\n");
}

static void xml_str(struct cg_strbuf *sb, const char *s)
{
	for (const unsigned char *c = (const unsigned char *)(s ? s : ""); *c; c++) {
		switch (*c) {
		case '<': CG_STRBUF_LIT(sb, "&lt;"); break;
		case '>': CG_STRBUF_LIT(sb, "&gt;"); break;
		case '&': CG_STRBUF_LIT(sb, "&amp;"); break;
		case '"': CG_STRBUF_LIT(sb, "&quot;"); break;
		default:
			if (*c < 0x20 && *c != '\n' && *c != '\t')
				cg_strbuf_addf(sb, "&#%u;", *c);
			else
				cg_strbuf_add(sb, c, 1);
		}
	}
}

static void out_junit(const struct results *res, struct cg_strbuf *sb)
{
	size_t fail = 0, skipped = 0;
	for (size_t i = 0; i < res->n; i++) {
		fail += !res->v[i].exempt && !cg_verdict_allowed(&res->v[i]);
		skipped += res->v[i].exempt;
	}
	cg_strbuf_addf(sb, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites tests=\"%zu\" failures=\"%zu\">\n"
			   "<testsuite name=\"capgate check\" tests=\"%zu\" failures=\"%zu\" skipped=\"%zu\" errors=\"0\">\n",
		       res->n, fail, res->n, fail, skipped);
	for (size_t i = 0; i < res->n; i++) {
		const struct cg_verdict *v = &res->v[i];
		CG_STRBUF_LIT(sb, "  <testcase classname=\"");
		xml_str(sb, v->kind);
		CG_STRBUF_LIT(sb, "\" name=\"");
		xml_str(sb, v->subject);
		CG_STRBUF_LIT(sb, "\" file=\"");
		xml_str(sb, v->file);
		CG_STRBUF_LIT(sb, "\"");
		if (v->exempt) {
			CG_STRBUF_LIT(sb, "><skipped message=\"exempt\"/></testcase>\n");
		} else if (cg_verdict_allowed(v)) {
			CG_STRBUF_LIT(sb, "/>\n");
		} else {
			CG_STRBUF_LIT(sb, ">\n    <failure message=\"");
			xml_str(sb, v->findings[0].msg);
			cg_strbuf_addf(sb, "\" type=\"%s\">", v->findings[0].rule);
			for (size_t k = 0; k < v->n_findings; k++) {
				xml_str(sb, v->findings[k].msg);
				CG_STRBUF_LIT(sb, "\n");
			}
			CG_STRBUF_LIT(sb, "</failure>\n  </testcase>\n");
		}
	}
	CG_STRBUF_LIT(sb, "</testsuite>\n</testsuites>\n");
}

int cmd_check(int argc, char **argv)
{
	struct cli_resolve ro = { 0 };
	struct opt_list layouts = { 0 }, images = { 0 };
	const char *policy_path = NULL, *profiles = NULL, *format = "text", *out = "-";
	bool quiet = false;
	struct opt opts[] = {
		{ OPT_STRING, 'p', "policy", &policy_path, "FILE", "the policy (YAML or JSON); default: the built-in policy", NULL },
		{ OPT_STRING, 0, "profiles", &profiles, "DIR", "kubelet-style seccomp profile directory for Localhost profiles", NULL },
		{ OPT_LIST, 0, "layout", &layouts, "DIR", "OCI layout holding images referenced by manifests (repeatable)", NULL },
		{ OPT_LIST, 0, "image", &images, "REF", "check an image reference (repeatable)", NULL },
		{ OPT_STRING, 'f', "format", &format, "FMT", "text (default), json, sarif or junit", NULL },
		{ OPT_STRING, 'o', "output", &out, "FILE", "write the report here (atomically) instead of stdout", NULL },
		{ OPT_BOOL, 'q', "quiet", &quiet, NULL, "text: print only failures and the summary", NULL },
		CLI_RESOLVE_OPTS(&ro),
		OPT_END_MARK,
	};
	_cleanup_(cg_policy_freep) struct cg_policy *p = NULL;
	struct cg_error err = { 0 };
	struct results res = { 0 };
	struct cg_resolve_opts rop;
	struct cg_eval_env env = { .sz = sizeof(env) };
	struct cg_strbuf sb;
	char **args;
	int nargs, r, rc = EXIT_OK;

	if ((r = opt_parse("check", usage, desc, argc, argv, opts, false, &args, &nargs)))
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	if (strcmp(format, "text") && strcmp(format, "json") && strcmp(format, "sarif") && strcmp(format, "junit")) {
		cli_error("check", "--format: expected text, json, sarif or junit, got '%s'", format);
		rc = EXIT_USAGE;
		goto out;
	}
	if (nargs == 0 && images.n == 0) {
		cli_error("check", "nothing to check (see 'capgate check --help')");
		rc = EXIT_USAGE;
		goto out;
	}
	if ((policy_path ? cg_policy_load(policy_path, &p, &err) : cg_policy_default(&p, &err)) < 0) {
		cli_error("check", "%s", err.msg);
		rc = EXIT_USAGE;
		goto out;
	}
	if (cli_resolve_opts("check", &ro, &rop) < 0) {
		rc = EXIT_USAGE;
		goto out;
	}
	env.profiles_dir = profiles;
	env.layouts = layouts.items;
	env.n_layouts = layouts.n;
	env.resolve = &rop;
	env.cache = cg_closure_cache_new();
	for (int i = 0; i < nargs; i++)
		if (check_file(p, args[i], &env, &res) < 0) {
			rc = EXIT_USAGE;
			goto out;
		}
	for (size_t i = 0; i < images.n; i++) {
		struct cg_verdict *v = results_next(&res);
		if (!v || cg_policy_eval_imageref(p, images.items[i], NULL, v, &err) < 0) {
			cli_error("check", "%s", v ? err.msg : "out of memory");
			rc = EXIT_USAGE;
			goto out;
		}
		res.n++;
	}
	cg_strbuf_init(&sb);
	if (strcmp(format, "json") == 0)
		out_json(&res, p, &sb);
	else if (strcmp(format, "sarif") == 0)
		out_sarif(&res, &sb);
	else if (strcmp(format, "junit") == 0)
		out_junit(&res, &sb);
	else
		out_text(&res, p, &sb, quiet);
	if (cli_write("check", out, &sb) < 0)
		rc = EXIT_USAGE;
	cg_strbuf_release(&sb);
	for (size_t i = 0; rc == EXIT_OK && i < res.n; i++)
		if (!res.v[i].exempt && !cg_verdict_allowed(&res.v[i]))
			rc = EXIT_FINDINGS;
out:
	cg_closure_cache_free(env.cache);
	for (size_t i = 0; i < res.n; i++)
		cg_verdict_release(&res.v[i]);
	free(res.v);
	free(args);
	opt_list_release(&layouts);
	opt_list_release(&images);
	opt_list_release(&ro.caps);
	return rc;
}
