;; An if/else with a result merges both arms into one register.
(module
  (func (param i32 i32) (result i32)
    (if (result i32) (local.get 0)
      (then (i32.add (local.get 1) (i32.const 1)))
      (else (i32.const 7)))))

;; ---- disassembly (KILN_BLESS=1 regenerates) ----
;; function 0: frame 64 bytes
;;      0: push    rbp
;;      1: mov     rbp,rsp
;;      4: mov     r11,rsp
;;      7: sub     r11,40h
;;      e: cmp     r11,[rdi+8]
;;     12: jb      0000000000000047h
;;     18: mov     rsp,r11
;;     1b: mov     [rbp-8],rbx
;;     1f: mov     rbx,rdi
;;     22: mov     esi,esi
;;     24: mov     edx,edx
;;     26: test    esi,esi
;;     28: je      0000000000000039h
;;     2e: mov     rax,rdx
;;     31: add     eax,1
;;     34: jmp     000000000000003Eh
;;     39: mov     eax,7
;;     3e: mov     rbx,[rbp-8]
;;     42: mov     rsp,rbp
;;     45: pop     rbp
;;     46: ret
;;     47: ud2  ; trap: StackOverflow
