package main

import (
	"html/template"
	"net/http"
	"os"
)

var page = template.Must(template.ParseFiles("templates/page.html"))

func main() {
	http.Handle("/static/", http.StripPrefix("/static/", http.FileServer(http.Dir("static"))))
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		page.Execute(w, map[string]string{"Name": "world"})
	})
	http.ListenAndServe(":"+os.Getenv("PORT"), nil)
}
