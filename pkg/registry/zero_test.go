package registry

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A Registry not made by New answers 500 naming New, and Close says so,
// instead of a nil pointer panic in the caller's server.
func TestZeroRegistryRefuses(t *testing.T) {
	var rg Registry
	w := httptest.NewRecorder()
	rg.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/v2/", nil))
	if w.Code != http.StatusInternalServerError || !strings.Contains(w.Body.String(), "registry.New") {
		t.Errorf("zero Registry: %d %q; want 500 naming registry.New", w.Code, w.Body.String())
	}
	if err := rg.Close(); err == nil || !strings.Contains(err.Error(), "registry.New") {
		t.Errorf("zero Registry Close: %v; want an error naming registry.New", err)
	}
}
