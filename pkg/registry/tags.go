package registry

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
)

type tagList struct {
	Name string   `json:"name"`
	Tags []string `json:"tags"`
}

// listTags serves GET /v2/<name>/tags/list[?n=&last=], sorted lexically,
// paginated with a Link header when n cuts the list.
func (rg *Registry) listTags(w http.ResponseWriter, r *http.Request, repo string) error {
	ok, err := rg.store.repoExists(repo)
	if err != nil {
		return err
	}
	if !ok {
		return newErr(http.StatusNotFound, codeNameUnknown, "repository name not known to registry").withDetail(map[string]string{"name": repo})
	}
	tags, err := rg.store.listTags(repo)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	if last := q.Get("last"); last != "" {
		i := sort.SearchStrings(tags, last)
		if i < len(tags) && tags[i] == last {
			i++
		}
		tags = tags[i:]
	}
	n := -1
	if ns := q.Get("n"); ns != "" {
		n, err = strconv.Atoi(ns)
		if err != nil || n < 0 {
			return newErr(http.StatusBadRequest, codeUnsupported, "invalid n")
		}
		n = min(n, maxTagsPage)
	} else if len(tags) > maxTagsPage {
		n = maxTagsPage
	}
	if n >= 0 && n < len(tags) {
		tags = tags[:n]
		if n > 0 {
			v := url.Values{"n": {strconv.Itoa(n)}, "last": {tags[n-1]}}
			w.Header().Set("Link", `</v2/`+repo+`/tags/list?`+v.Encode()+`>; rel="next"`)
		}
	}
	if tags == nil {
		tags = []string{}
	}
	return writeJSON(w, r, "application/json", tagList{Name: repo, Tags: tags})
}

func writeJSON(w http.ResponseWriter, r *http.Request, contentType string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	return writeBody(w, r, contentType, b)
}

func writeBody(w http.ResponseWriter, r *http.Request, contentType string, b []byte) error {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(b)
	}
	return nil
}
