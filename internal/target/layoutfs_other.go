//go:build !unix

package target

const oNonblock = 0
